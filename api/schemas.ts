import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ERROR_STATUS } from '../domain/errors';

extendZodWithOpenApi(z);

/** Shared request and response schemas. Request schemas are strict: unknown fields are an error. */

export const userIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:@-]+$/, 'may contain letters, digits and . _ : @ -')
  .openapi({ description: "The calling service's opaque user id.", example: 'user-42' });

export const actionKeySchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_]*$/, 'lower_snake_case')
  .openapi({ example: 'resume_optimize' });

export const quantitySchema = z.number().int().min(1).max(1_000_000).openapi({ description: 'Units of the action.', example: 1 });
export const creditsSchema = z.number().int().min(1).max(2_147_483_647);
export const uuidSchema = z.uuid();
export const isoDate = z.iso.datetime({ offset: true });

export const errorEnvelopeSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...(keyof typeof ERROR_STATUS)[]]),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');

export const allocationSchema = z.object({ grantId: z.uuid(), credits: z.number().int() });

export const grantSchema = z
  .object({
    id: z.uuid(),
    userId: z.string(),
    packageId: z.uuid().nullable(),
    source: z.enum(['purchase', 'gift', 'promotion', 'system']),
    status: z.enum(['pending', 'active', 'expired', 'depleted', 'revoked']),
    totalCredits: z.number().int(),
    usedCredits: z.number().int(),
    reservedCredits: z.number().int(),
    availableCredits: z.number().int(),
    priority: z.number().int(),
    startsAt: z.string(),
    expiresAt: z.string().nullable(),
    note: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('Grant');

export const consumptionSchema = z
  .object({
    id: z.uuid(),
    userId: z.string(),
    actionKey: z.string(),
    quantity: z.number().int(),
    unitPrice: z.number().int().openapi({ description: 'Credits per unit at the time of the charge.' }),
    creditsCost: z.number().int(),
    creditsRefunded: z.number().int(),
    reservationId: z.uuid().nullable(),
    metadata: z.unknown(),
    allocations: z.array(allocationSchema),
    createdAt: z.string(),
  })
  .openapi('Consumption');

export const reservationSchema = z
  .object({
    id: z.uuid(),
    userId: z.string(),
    actionKey: z.string(),
    quantity: z.number().int(),
    unitPrice: z.number().int(),
    creditsHeld: z.number().int(),
    status: z.enum(['held', 'committed', 'released', 'expired']),
    expiresAt: z.string(),
    consumptionId: z.uuid().nullable(),
    allocations: z.array(allocationSchema),
    createdAt: z.string(),
    settledAt: z.string().nullable(),
  })
  .openapi('Reservation');

export const refundSchema = z
  .object({
    id: z.uuid(),
    consumptionId: z.uuid(),
    credits: z.number().int(),
    reason: z.string(),
    consumptionCreditsRefunded: z.number().int(),
    returnedTo: z.array(z.object({ grantId: z.uuid(), credits: z.number().int(), replacementFor: z.uuid().nullable() })),
    createdAt: z.string(),
  })
  .openapi('Refund');

export const actionPriceSchema = z
  .object({
    id: z.uuid(),
    actionKey: z.string(),
    name: z.string(),
    creditsPerUnit: z.number().int(),
    status: z.enum(['active', 'disabled']),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('ActionPrice');

export const billingPackageSchema = z
  .object({
    id: z.uuid(),
    code: z.string(),
    name: z.string(),
    type: z.enum(['duration', 'credits', 'hybrid', 'permanent']),
    creditsAmount: z.number().int(),
    durationDays: z.number().int().nullable().openapi({ description: 'Validity after assignment; null = never expires.' }),
    priceMinor: z.number().int().openapi({ description: 'Price in minor units of `currency` (e.g. cents).' }),
    currency: z.string().length(3),
    visible: z.boolean(),
    defaultPriority: z.number().int(),
    status: z.enum(['active', 'disabled']),
    deletedAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('BillingPackage');

/** Cursor pagination: pass `nextCursor` back as `cursor`. */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

export const timeRangeQuerySchema = z.object({
  from: isoDate.optional(),
  to: isoDate.optional(),
});

export function page<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

// ---------------------------------------------------------------------------------------------
// Catalog, balances and reports (public, user and admin routes)
// ---------------------------------------------------------------------------------------------

/** List answers are wrapped so fields (e.g. totals) can be added later without breaking clients. */
export function listOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item) });
}

export const grantStatusSchema = z.enum(['pending', 'active', 'expired', 'depleted', 'revoked']);

/** Read filter for consumptions: `from` inclusive, `to` exclusive. */
export const consumptionFilterQuerySchema = timeRangeQuerySchema.extend({ actionKey: actionKeySchema.optional() });

/** For `.refine` on a query with from/to: an inverted range is a client mistake, not an empty answer. */
export function rangeInOrder(query: { from?: string | undefined; to?: string | undefined }): boolean {
  return query.from === undefined || query.to === undefined || Date.parse(query.from) <= Date.parse(query.to);
}
export const rangeInOrderIssue = { message: 'from must not be after to', path: ['from'] };

export const publicActionPriceSchema = z
  .object({ actionKey: z.string(), name: z.string(), creditsPerUnit: z.number().int() })
  .openapi('PublicActionPrice');

export const storefrontPackageSchema = billingPackageSchema
  .pick({ id: true, code: true, name: true, type: true, creditsAmount: true, durationDays: true, priceMinor: true, currency: true })
  .openapi('StorefrontPackage');

export const balanceGrantSchema = grantSchema
  .extend({ spendable: z.boolean().openapi({ description: 'Spends draw from this grant right now.' }) })
  .openapi('BalanceGrant');

export const userCreditsSchema = z
  .object({
    userId: z.string(),
    availableCredits: z.number().int().openapi({ description: 'Credits spendable right now.' }),
    grants: z.array(balanceGrantSchema).openapi({ description: 'Active, pending and depleted grants, in burn-down order.' }),
  })
  .openapi('UserCredits');

export const userGrantSchema = grantSchema
  .extend({ package: z.object({ code: z.string(), name: z.string() }).nullable() })
  .openapi('UserGrant');

export const consumptionStatsSchema = z
  .object({
    groupBy: z.enum(['day', 'action']),
    rows: z.array(
      z.object({
        key: z.string().openapi({ description: 'YYYY-MM-DD (UTC) or the action key.' }),
        consumptions: z.number().int(),
        quantity: z.number().int(),
        creditsCost: z.number().int(),
        creditsRefunded: z.number().int(),
        netCredits: z.number().int(),
      }),
    ),
  })
  .openapi('ConsumptionStats');

/** One instance, shared by the user and admin routes, so the OpenAPI component is registered once. */
export const userGrantListSchema = listOf(userGrantSchema).openapi('UserGrantList');
