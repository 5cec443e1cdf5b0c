/**
 * JSON shapes the engine returns. They are stored verbatim as idempotent replies, so they hold only
 * JSON values (dates as ISO strings).
 */
import { availableCredits } from '../domain/burn-down';
import type {
  ConsumptionAllocation,
  ConsumptionRecord,
  Reservation,
  ReservationAllocation,
  UserPackage,
} from '../generated/prisma/client';

export interface GrantView {
  id: string;
  userId: string;
  packageId: string | null;
  source: string;
  status: string;
  totalCredits: number;
  usedCredits: number;
  reservedCredits: number;
  availableCredits: number;
  priority: number;
  startsAt: string;
  expiresAt: string | null;
  note: string | null;
  createdAt: string;
}

export interface AllocationView {
  grantId: string;
  credits: number;
}

export interface ConsumptionView {
  id: string;
  userId: string;
  actionKey: string;
  quantity: number;
  unitPrice: number;
  creditsCost: number;
  creditsRefunded: number;
  reservationId: string | null;
  metadata: unknown;
  allocations: AllocationView[];
  createdAt: string;
}

export interface ReservationView {
  id: string;
  userId: string;
  actionKey: string;
  quantity: number;
  unitPrice: number;
  creditsHeld: number;
  status: 'held' | 'committed' | 'released' | 'expired';
  expiresAt: string;
  consumptionId: string | null;
  allocations: AllocationView[];
  createdAt: string;
  settledAt: string | null;
}

export interface RefundView {
  id: string;
  consumptionId: string;
  credits: number;
  reason: string;
  consumptionCreditsRefunded: number;
  /** Where the credits went: the original grant, or a replacement when the original had expired. */
  returnedTo: Array<{ grantId: string; credits: number; replacementFor: string | null }>;
  createdAt: string;
}

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
