/** JSON shapes of coupons and previews (zod schemas, types inferred). Views change only by adding fields. */
import { z } from '../../platform/zod';
import { COUPON_REFUSALS } from './rules/discount';
import type { Coupon } from '../../generated/prisma/client';
import { uuidSchema } from '../../platform/schemas';

export const couponSchema = z
  .object({
    id: uuidSchema,
    code: z.string(),
    kind: z.enum(['percent', 'fixed']),
    percentBasisPoints: z.number().int().nullable(),
    amountsOff: z.record(z.string(), z.number().int()).nullable(),
    validFrom: z.string().nullable(),
    validUntil: z.string().nullable(),
    maxRedemptions: z.number().int().nullable(),
    maxPerUser: z.number().int().nullable(),
    packageIds: z.array(uuidSchema).nullable(),
    firstPurchaseOnly: z.boolean(),
    enabled: z.boolean(),
    usedCount: z.number().int().openapi({ description: 'Uses reserved by unpaid orders or confirmed by paid ones.' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Coupon');
export type CouponView = z.infer<typeof couponSchema>;

export const couponPreviewSchema = z
  .object({
    code: z.string(),
    applicable: z.boolean(),
    reason: z.enum(COUPON_REFUSALS).nullable().openapi({ description: 'Why the code does not apply (stable code); null when it applies.' }),
    packageCode: z.string(),
    currency: z.string(),
    listAmountMinor: z.number().int(),
    discountMinor: z.number().int(),
    amountMinor: z.number().int().openapi({ description: 'The price after the coupon (an order\'s `subtotalMinor`): what the order charges with tax-inclusive prices; with tax-exclusive prices it charges `totalMinor`.' }),
    limitedByMinimum: z.boolean().openapi({ description: "The discount was cut so the subtotal stays at the currency's minimum (the coupon works on the pre-tax price)." }),
    // Tax (added fields): as an order placed now would fix it (docs/api.md, Tax).
    taxMinor: z.number().int().optional().openapi({ description: 'The tax an order placed now would fix: added to `amountMinor` (tax-exclusive prices) or included in it.' }),
    totalMinor: z.number().int().optional().openapi({ description: 'What an order placed now would charge.' }),
  })
  .openapi('CouponPreview');
export type CouponPreviewView = z.infer<typeof couponPreviewSchema>;

export function couponView(coupon: Coupon): CouponView {
  return {
    id: coupon.id,
    code: coupon.code,
    kind: coupon.kind,
    percentBasisPoints: coupon.percentBasisPoints,
    amountsOff: (coupon.amountsOff as Record<string, number> | null) ?? null,
    validFrom: coupon.validFrom?.toISOString() ?? null,
    validUntil: coupon.validUntil?.toISOString() ?? null,
    maxRedemptions: coupon.maxRedemptions,
    maxPerUser: coupon.maxPerUser,
    packageIds: (coupon.packageIds as string[] | null) ?? null,
    firstPurchaseOnly: coupon.firstPurchaseOnly,
    enabled: coupon.enabled,
    usedCount: coupon.usedCount,
    createdAt: coupon.createdAt.toISOString(),
    updatedAt: coupon.updatedAt.toISOString(),
  };
}
