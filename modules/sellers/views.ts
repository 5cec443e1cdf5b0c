/** JSON shapes of sellers, splits and earnings (zod schemas, types inferred). Views change only by adding fields. */
import { z } from '../../platform/zod';
import type { Seller, SellerEarningEntry } from '../../generated/prisma/client';
import { uuidSchema } from '../../platform/schemas';

export const sellerSchema = z
  .object({
    id: uuidSchema,
    code: z.string(),
    name: z.string(),
    platformFeeBasisPoints: z.number().int().openapi({ description: "The platform's fee in basis points (1500 = 15 %)." }),
    enabled: z.boolean(),
    packageCodes: z.array(z.string()),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Seller');
export type SellerView = z.infer<typeof sellerSchema>;

const earningEntrySchema = z
  .object({
    id: z.string(),
    kind: z.enum(['sale', 'refund']),
    orderId: uuidSchema,
    currency: z.string(),
    grossMinor: z.number().int(),
    platformFeeMinor: z.number().int(),
    sellerShareMinor: z.number().int(),
    feeBasisPoints: z.number().int(),
    occurredAt: z.string(),
  })
  .openapi('SellerEarningEntry');
export type EarningEntryView = z.infer<typeof earningEntrySchema>;

export const orderSplitSchema = z
  .object({
    orderId: uuidSchema,
    sellerId: uuidSchema.nullable(),
    entries: z.array(earningEntrySchema),
    net: z.object({ grossMinor: z.number().int(), platformFeeMinor: z.number().int(), sellerShareMinor: z.number().int() }),
  })
  .openapi('OrderSplit');
export type OrderSplitView = z.infer<typeof orderSplitSchema>;

const earningsPeriodSchema = z
  .object({
    period: z.string().openapi({ description: 'Start of the period (UTC), ISO 8601.' }),
    currency: z.string(),
    sales: z.number().int(),
    refunds: z.number().int(),
    grossMinor: z.number().int(),
    platformFeeMinor: z.number().int(),
    sellerShareMinor: z.number().int(),
  })
  .openapi('SellerEarningsPeriod');
export const sellerEarningsSchema = z
  .object({ sellerId: uuidSchema, granularity: z.enum(['day', 'month']), items: z.array(earningsPeriodSchema) })
  .openapi('SellerEarnings');
export type SellerEarningsView = z.infer<typeof sellerEarningsSchema>;

export function sellerView(seller: Seller, packageCodes: string[]): SellerView {
  return {
    id: seller.id,
    code: seller.code,
    name: seller.name,
    platformFeeBasisPoints: seller.platformFeeBasisPoints,
    enabled: seller.enabled,
    packageCodes,
    createdAt: seller.createdAt.toISOString(),
    updatedAt: seller.updatedAt.toISOString(),
  };
}

export function earningEntryView(entry: SellerEarningEntry): EarningEntryView {
  return {
    id: entry.id.toString(),
    kind: entry.kind as 'sale' | 'refund',
    orderId: entry.orderId,
    currency: entry.currency,
    grossMinor: entry.grossMinor,
    platformFeeMinor: entry.platformFeeMinor,
    sellerShareMinor: entry.sellerShareMinor,
    feeBasisPoints: entry.feeBasisPoints,
    occurredAt: entry.occurredAt.toISOString(),
  };
}
