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
 * A business refusal (BillingError: not enough credits, not held...) is an answer, not a failure: it
 * comes back as a value, so it is neither retried nor logged as a failed activity, and the workflow
 * hands it to the caller with its stable code. Anything else (a lost connection, say) throws and is
 * retried. Every activity is idempotent: holds by reservation id, the rest by idempotency key or by
 * the reservation's state, so a retry after a crash changes nothing twice.
 */
export type Outcome<T> = { ok: true; value: T } | { ok: false; refusal: Refusal };

export interface Refusal {
  code: string;
  message: string;
  details: unknown;
}

async function asActivity<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    if (error instanceof BillingError) {
      return { ok: false, refusal: { code: error.code, message: error.message, details: error.details ?? null } };
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
