import { ApplicationFailure } from '@temporalio/activity';
import { BillingError } from '../domain/errors';
import type { Database } from '../infra/database';
import { commitReservation, extendReservation, holdCredits, releaseReservation, type HoldRequest } from '../credits/reservations';
import { refundConsumption } from '../credits/refunds';
import type { CommitArgs, OperationKey, RefundArgs } from '../workflows/reservation-contract';

export interface ActivityDeps {
  db: Database;
  refundGraceDays: number;
}

/**
 * Business refusals (BillingError) become non-retryable failures carrying the stable error code as
 * their type, so the workflow and the API can pass them on; anything else (a lost connection, say)
 * stays retryable. Every activity is idempotent: holds by reservation id, the rest by idempotency key
 * or by the reservation's state, so a retry after a crash changes nothing twice.
 */
async function asActivity<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof BillingError) {
      throw ApplicationFailure.create({ message: error.message, type: error.code, nonRetryable: true, details: [error.details ?? null] });
    }
    throw error;
  }
}

const idempotencyOf = (op: OperationKey) => ({ scope: op.scope, key: op.key, requestHash: op.requestHash });

export function createActivities({ db, refundGraceDays }: ActivityDeps) {
  return {
    holdCredits: (request: HoldRequest, actor: string) => asActivity(() => holdCredits(db, request, actor)),

    commitReservation: (reservationId: string, args: CommitArgs & { quantity: number }) =>
      asActivity(async () => (await commitReservation(db, reservationId, args.quantity, idempotencyOf(args), args.actor)).body),

    releaseReservation: (reservationId: string, op: OperationKey) =>
      asActivity(() => releaseReservation(db, reservationId, 'released', op.actor, idempotencyOf(op))),

    expireReservation: (reservationId: string) =>
      asActivity(() => releaseReservation(db, reservationId, 'expired', 'system:hold-deadline')),

    extendReservation: (reservationId: string, expiresAtIso: string) =>
      asActivity(() => extendReservation(db, reservationId, new Date(expiresAtIso))),

    refundConsumption: (consumptionId: string, args: RefundArgs) =>
      asActivity(async () =>
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

export type BillingActivities = ReturnType<typeof createActivities>;
