/**
 * The reservation workflow's activities: thin wrappers over the credit engine. Every one is
 * idempotent (holds by reservation id; the rest by idempotency key or by the reservation's state), so
 * a retry after a crash changes nothing twice.
 */
import type { Database } from '../platform/database';
import { commitReservation, extendReservation, holdCredits, releaseReservation, type HoldRequest, refundConsumption } from '../modules/credits';
import type { CommitArgs, OperationKey, RefundArgs } from '../workflows/reservation-contract';
import { asOutcome } from './outcome';

export interface ReservationActivityDeps {
  db: Database;
  refundGraceDays: number;
}

const idempotencyOf = (op: OperationKey) => ({ scope: op.scope, key: op.key, requestHash: op.requestHash });

export function createReservationActivities({ db, refundGraceDays }: ReservationActivityDeps) {
  return {
    holdCredits: (request: HoldRequest, actor: string) => asOutcome(() => holdCredits(db, request, actor)),

    commitReservation: (reservationId: string, args: CommitArgs & { quantity: number }) =>
      asOutcome(async () => (await commitReservation(db, reservationId, args.quantity, idempotencyOf(args), args.actor)).body),

    releaseReservation: (reservationId: string, op: OperationKey) =>
      asOutcome(() => releaseReservation(db, reservationId, 'released', op.actor, idempotencyOf(op))),

    expireReservation: (reservationId: string) =>
      asOutcome(() => releaseReservation(db, reservationId, 'expired', 'system:hold-deadline')),

    extendReservation: (reservationId: string, expiresAtIso: string) =>
      asOutcome(() => extendReservation(db, reservationId, new Date(expiresAtIso))),

    refundConsumption: (consumptionId: string, args: RefundArgs) =>
      asOutcome(async () =>
        (
          await refundConsumption(
            db,
            { consumptionId, credits: args.credits, reason: args.reason },
            { graceDays: refundGraceDays },
            idempotencyOf(args),
            args.actor,
          )
        ).body,
      ),
  };
}

export type ReservationActivities = ReturnType<typeof createReservationActivities>;
