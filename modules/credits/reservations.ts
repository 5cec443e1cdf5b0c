import { randomUUID } from 'node:crypto';
import { DatabaseError, type QueryResultRow } from 'pg';
import { sqlPool, type Database, type Tx } from '../../platform/database';
import type { Reservation, ReservationAllocation } from '../../generated/prisma/client';
import { BillingError } from '../../platform/errors';
import { keyReused } from '../../platform/idempotency/key-reuse';
import { requireCommitWithinHold } from './rules/holds';
import { applyMovements } from './ledger';
import { insufficientCredits } from './grants';
import { actionDisabled, quantityTooLarge, unknownAction } from './pricing';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';
import { lockUserCredits } from './locks';
import { reservationView, type ConsumptionView, type ReservationView } from './views';
import { afterBalanceChange, recordEvent } from './events';
import { balanceLowThreshold } from '../events';

/**
 * Reservation rules (see docs/architecture.md):
 * - A hold pins credits on specific grants. If a grant expires while credits are held on it, the hold
 *   stays valid until it is committed, released or its deadline passes: the caller started the action in
 *   good faith. Credits released after the grant's expiry go back to it and lapse with it.
 * - Commit takes at most what is held; the rest goes back in the same transaction.
 */

export interface HoldRequest {
  reservationId: string;
  workflowId: string;
  userId: string;
  actionKey: string;
  quantity: number;
  /** The hold deadline (ISO 8601), computed by the reservation workflow in workflow time. */
  expiresAt: string;
  requestHash: string;
}

const withAllocations = { allocations: true } as const;

/**
 * The hold's one statement: the migration-managed function `hold_credits`
 * (prisma/migrations/20261222000000_reservation_functions) does what this module did through Prisma in
 * 13 statements (existing-row check, price, the user's lock, grants, reservation, allocations, grant
 * updates and ledger entries, the balance-low rule), in one round trip. Prepared once per connection.
 */
const HOLD_STATEMENT = {
  name: 'hold_credits',
  text: 'SELECT answer FROM hold_credits($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
} as const;

/** The commit's one statement (`commit_reservation`, same migration): claim, lock, settle, consumption, ledger, event, answer. */
const COMMIT_STATEMENT = {
  name: 'commit_reservation',
  text: 'SELECT was_replayed, answer FROM commit_reservation($1, $2, $3, $4, $5, $6, $7, $8, $9)',
} as const;

/** The functions' refusals (SQLSTATE class DB, the code as message), worded as the Prisma path worded them. */
function reservationRefusal(error: unknown, context: { reservationId: string; actionKey?: string; quantity: number }): BillingError | undefined {
  if (!(error instanceof DatabaseError) || !error.code?.startsWith('DB')) return undefined;
  const detail = (): Record<string, unknown> => JSON.parse(error.detail ?? '{}') as Record<string, unknown>;
  switch (error.message) {
    case 'IDEMPOTENCY_KEY_REUSED':
      return keyReused();
    case 'NOT_FOUND':
      return context.actionKey !== undefined ? unknownAction(context.actionKey) : reservationNotFound(context.reservationId);
    case 'ACTION_DISABLED':
      return actionDisabled(context.actionKey ?? '');
    case 'VALIDATION_FAILED':
      return quantityTooLarge(context.actionKey ?? '', context.quantity);
    case 'INSUFFICIENT_CREDITS': {
      const { required, available } = detail() as { required: number; available: number };
      return insufficientCredits(required, available);
    }
    case 'RESERVATION_NOT_HELD':
      return notHeld({ id: context.reservationId, status: String(detail().status) });
    case 'COMMIT_EXCEEDS_HOLD': {
      const { held, requested } = detail() as { held: number; requested: number };
      try {
        requireCommitWithinHold(held, requested);
      } catch (refusal) {
        return refusal as BillingError;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Runs one of this module's prepared statements; a refusal raised by the function becomes its BillingError. */
async function callFunction<Row extends QueryResultRow>(
  db: Database,
  statement: { name: string; text: string },
  values: unknown[],
  context: Parameters<typeof reservationRefusal>[1],
): Promise<Row> {
  try {
    const { rows } = await sqlPool(db).query<Row>({ ...statement, values });
    return rows[0]!;
  } catch (error) {
    throw reservationRefusal(error, context) ?? error;
  }
}

export async function holdCredits(db: Database, request: HoldRequest, actor: string): Promise<ReservationView> {
  const values = [
    request.reservationId,
    request.workflowId,
    request.userId,
    request.actionKey,
    request.quantity,
    new Date(request.expiresAt),
    request.requestHash,
    // The creating credential: only it may settle the reservation (modules/reservations/service.ts).
    actor,
    new Date(),
    balanceLowThreshold(),
  ];
  const row = await callFunction<{ answer: string }>(db, HOLD_STATEMENT, values, request);
  return JSON.parse(row.answer) as ReservationView;
}

/** Locks the user of a reservation, then reads the reservation with its allocations. */
async function lockReservation(tx: Tx, reservationId: string) {
  const head = await tx.reservation.findUnique({ where: { id: reservationId }, select: { userId: true } });
  if (!head) throw reservationNotFound(reservationId);
  await lockUserCredits(tx, head.userId);
  return tx.reservation.findUniqueOrThrow({
    where: { id: reservationId },
    include: { allocations: { include: { userPackage: true } } },
  });
}

/** Marks a locked reservation settled and returns its view from the values in hand (no read-back). */
async function settle(
  tx: Tx,
  reservation: Reservation & { allocations: ReservationAllocation[] },
  change: { status: 'committed' | 'released' | 'expired'; consumptionId?: string },
): Promise<ReservationView> {
  const settledAt = new Date();
  const data = { status: change.status, consumptionId: change.consumptionId ?? reservation.consumptionId, settledAt, updatedAt: settledAt };
  await tx.reservation.updateMany({ where: { id: reservation.id }, data });
  return reservationView({ ...reservation, ...data });
}

function reservationNotFound(reservationId: string): BillingError {
  return new BillingError('NOT_FOUND', `Reservation ${reservationId} not found.`, { reservationId });
}

function notHeld(reservation: { id: string; status: string }): BillingError {
  return new BillingError('RESERVATION_NOT_HELD', `Reservation ${reservation.id} is ${reservation.status}, not held.`, {
    reservationId: reservation.id,
    status: reservation.status,
  });
}

export interface CommitResult {
  reservation: ReservationView;
  consumption: ConsumptionView;
}

export async function commitReservation(
  db: Database,
  reservationId: string,
  quantity: number,
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<CommitResult>> {
  const values = [
    idempotency.scope,
    idempotency.key,
    idempotency.requestHash,
    actor,
    reservationId,
    quantity,
    randomUUID(),
    new Date(),
    balanceLowThreshold(),
  ];
  const row = await callFunction<{ was_replayed: boolean; answer: string }>(db, COMMIT_STATEMENT, values, { reservationId, quantity });
  return { body: JSON.parse(row.answer) as CommitResult, replayed: row.was_replayed };
}

/**
 * Returns every held credit to its grant. `outcome` is `released` (caller) or `expired` (deadline).
 * A caller's release (with its idempotency key) happens once: the same key replays its stored answer,
 * another key finds the reservation no longer held (RESERVATION_NOT_HELD), like a second commit. A
 * release without a key (the deadline, the expiry sweep) run again returns the settled reservation unchanged.
 */
export async function releaseReservation(
  db: Database,
  reservationId: string,
  outcome: 'released' | 'expired',
  actor: string,
  idempotency?: Idempotency,
): Promise<ReservationView> {
  const { body } = await runIdempotent(db, idempotency, async (tx) => {
    const reservation = await lockReservation(tx, reservationId);
    if (reservation.status === outcome && !idempotency) return reservationView(reservation);
    if (reservation.status !== 'held') throw notHeld(reservation);
    await applyMovements(
      tx,
      { userId: reservation.userId, referenceType: 'reservation', referenceId: reservation.id, idempotencyKey: idempotency?.key, actor },
      reservation.allocations.map((a) => ({ grantId: a.userPackageId, entryType: 'release', amount: a.credits, reservedDelta: -a.credits })),
    );
    await recordEvent(tx, {
      type: 'reservation.released',
      userId: reservation.userId,
      payload: { reservationId: reservation.id, actionKey: reservation.actionKey, credits: reservation.creditsHeld, outcome },
    });
    await afterBalanceChange(tx, reservation.userId);
    return settle(tx, reservation, { status: outcome });
  });
  return body;
}

/**
 * A hold is overdue by this much only when nothing guards it: its run would have expired it at its
 * deadline (a commit accepted in time may still land within COMMIT_GRACE_MS, a minute by default).
 */
export const ORPHAN_HOLD_AFTER_MS = 60 * 60_000;

/**
 * Expires holds still `held` more than ORPHAN_HOLD_AFTER_MS past their deadline: holds whose run never
 * started (the API stopped between the hold and the start, and the caller never retried) or was
 * terminated. The same conditional release the run's deadline does: a race with a commit settles once.
 * Returns the holds it expired.
 */
export async function expireOverdueHolds(db: Database, now: Date, userId?: string): Promise<Array<{ id: string; userId: string; expiresAt: Date }>> {
  const overdue = await db.reservation.findMany({
    where: { status: 'held', expiresAt: { lt: new Date(now.getTime() - ORPHAN_HOLD_AFTER_MS) }, ...(userId ? { userId } : {}) },
    select: { id: true, userId: true, expiresAt: true },
    take: 10_000,
  });
  const expired = [];
  for (const hold of overdue) {
    try {
      await releaseReservation(db, hold.id, 'expired', 'system:expiry-sweep');
      expired.push(hold);
    } catch (error) {
      if (!(error instanceof BillingError && error.code === 'RESERVATION_NOT_HELD')) throw error; // settled meanwhile
    }
  }
  return expired;
}

/** Moves a held reservation's deadline; no balance changes. */
export async function extendReservation(db: Database, reservationId: string, expiresAt: Date): Promise<ReservationView> {
  const { body } = await runIdempotent(db, undefined, async (tx) => {
    const reservation = await lockReservation(tx, reservationId);
    if (reservation.status !== 'held') throw notHeld(reservation);
    const updated = await tx.reservation.update({ where: { id: reservationId }, data: { expiresAt }, include: withAllocations });
    return reservationView(updated);
  });
  return body;
}

/** The credential that created a reservation (null: created before this was recorded), or undefined if there is none. */
export async function reservationOwner(db: Database, reservationId: string): Promise<string | null | undefined> {
  // Asked before every settling call through the API: one prepared statement, no Prisma.
  const { rows } = await sqlPool(db).query<{ created_by: string | null }>({ ...OWNER_STATEMENT, values: [reservationId] });
  return rows[0] ? rows[0].created_by : undefined;
}

const OWNER_STATEMENT = { name: 'reservation_owner', text: 'SELECT created_by FROM reservations WHERE id = $1' } as const;

export async function getReservation(db: Database, reservationId: string): Promise<ReservationView | null> {
  const reservation = await db.reservation.findUnique({ where: { id: reservationId }, include: withAllocations });
  return reservation ? reservationView(reservation) : null;
}
