/**
 * The credit engine's answers, written once as zod schemas: the TypeScript types are inferred from
 * them and the API documents them as they are. They are stored verbatim as idempotent replies and in
 * workflow histories, so they hold only JSON values (dates as ISO strings) and change only by adding
 * fields (docs/architecture.md, "Stored views").
 */
import type {
  ConsumptionAllocation,
  ConsumptionRecord,
  Reservation,
  ReservationAllocation,
  UserPackage,
} from '../../generated/prisma/client';
import { GrantSource, GrantStatus, ReservationStatus } from '../../generated/prisma/enums';
import { availableCredits } from './rules/burn-down';
import { z } from '../../platform/zod';
import { uuidSchema } from '../../platform/schemas';

const allocationSchema = z.object({ grantId: uuidSchema, credits: z.number().int() });

export const grantSchema = z
  .object({
    id: uuidSchema,
    userId: z.string(),
    packageId: uuidSchema.nullable(),
    source: z.enum(GrantSource),
    status: z.enum(GrantStatus),
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
    id: uuidSchema,
    userId: z.string(),
    actionKey: z.string(),
    quantity: z.number().int(),
    unitPrice: z.number().int().openapi({ description: 'Credits per unit at the time of the charge.' }),
    creditsCost: z.number().int(),
    creditsRefunded: z.number().int(),
    reservationId: uuidSchema.nullable(),
    metadata: z.unknown(),
    allocations: z.array(allocationSchema),
    createdAt: z.string(),
  })
  .openapi('Consumption');

export const reservationSchema = z
  .object({
    id: uuidSchema,
    userId: z.string(),
    actionKey: z.string(),
    quantity: z.number().int(),
    unitPrice: z.number().int(),
    creditsHeld: z.number().int(),
    status: z.enum(ReservationStatus),
    expiresAt: z.string(),
    consumptionId: uuidSchema.nullable(),
    allocations: z.array(allocationSchema),
    createdAt: z.string(),
    settledAt: z.string().nullable(),
  })
  .openapi('Reservation');

export const refundSchema = z
  .object({
    id: uuidSchema,
    consumptionId: uuidSchema,
    credits: z.number().int(),
    reason: z.string(),
    consumptionCreditsRefunded: z.number().int(),
    /** Where the credits went: the original grant, or a replacement when the original had expired. */
    returnedTo: z.array(z.object({ grantId: uuidSchema, credits: z.number().int(), replacementFor: uuidSchema.nullable() })),
    createdAt: z.string(),
  })
  .openapi('Refund');
export type GrantView = z.infer<typeof grantSchema>;
export type ConsumptionView = z.infer<typeof consumptionSchema>;
export type ReservationView = z.infer<typeof reservationSchema>;
export type RefundView = z.infer<typeof refundSchema>;

export function grantView(grant: UserPackage): GrantView {
  return {
    id: grant.id,
    userId: grant.userId,
    packageId: grant.packageId,
    source: grant.source,
    status: grant.status,
    totalCredits: grant.totalCredits,
    usedCredits: grant.usedCredits,
    reservedCredits: grant.reservedCredits,
    availableCredits: availableCredits(grant),
    priority: grant.priority,
    startsAt: grant.startsAt.toISOString(),
    expiresAt: grant.expiresAt?.toISOString() ?? null,
    note: grant.note,
    createdAt: grant.createdAt.toISOString(),
  };
}

export function consumptionView(
  record: ConsumptionRecord & { allocations: ConsumptionAllocation[]; reservation?: { id: string } | null },
): ConsumptionView {
  return {
    id: record.id,
    userId: record.userId,
    actionKey: record.actionKey,
    quantity: record.quantity,
    unitPrice: record.unitPrice,
    creditsCost: record.creditsCost,
    creditsRefunded: record.creditsRefunded,
    reservationId: record.reservation?.id ?? null,
    metadata: record.metadata ?? null,
    allocations: record.allocations.map((a) => ({ grantId: a.userPackageId, credits: a.credits })),
    createdAt: record.createdAt.toISOString(),
  };
}

export function reservationView(reservation: Reservation & { allocations: ReservationAllocation[] }): ReservationView {
  return {
    id: reservation.id,
    userId: reservation.userId,
    actionKey: reservation.actionKey,
    quantity: reservation.quantity,
    unitPrice: reservation.unitPrice,
    creditsHeld: reservation.creditsHeld,
    status: reservation.status,
    expiresAt: reservation.expiresAt.toISOString(),
    consumptionId: reservation.consumptionId,
    allocations: reservation.allocations.map((a) => ({ grantId: a.userPackageId, credits: a.credits })),
    createdAt: reservation.createdAt.toISOString(),
    settledAt: reservation.settledAt?.toISOString() ?? null,
  };
}
