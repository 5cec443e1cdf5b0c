import type { Database } from '../infra/database';
import type { Reservation, ReservationAllocation } from '../generated/prisma/client';
import { BillingError } from '../domain/errors';
import { keyReused } from '../domain/idempotency';
import { settleHold } from '../domain/settlement';
import { requireCommitWithinHold } from '../domain/holds';
import { applyMovements, type Movement } from './ledger';
import { priceAndAllocate } from './grants';
import type { Tx } from '../infra/database';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../idempotency/store';
import { lockUserCredits } from './locks';
import { recordConsumption } from './consumptions';
import { reservationView, type ConsumptionView, type ReservationView } from './views';
import { afterBalanceChange, recordEvent } from './events';

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

export async function holdCredits(db: Database, request: HoldRequest, actor: string): Promise<ReservationView> {
  const { body } = await runIdempotent(db, undefined, async (tx) => {
    // The reservation id is the idempotency key of a hold: a retried activity finds its own row.
    const existing = await tx.reservation.findUnique({ where: { id: request.reservationId }, include: withAllocations });
    if (existing) {
      if (existing.requestHash !== request.requestHash) {
        throw keyReused();
      }
      return reservationView(existing);
    }
    const now = new Date();
    const { priced, allocations } = await priceAndAllocate(tx, request.userId, request.actionKey, request.quantity, now);
    // Written with createMany and returned from the values in hand: no read-back on the hot path.
    const reservation = {
      id: request.reservationId,
      userId: request.userId,
      actionKey: priced.actionKey,
      quantity: request.quantity,
      unitPrice: priced.unitPrice,
      creditsHeld: priced.credits,
      status: 'held' as const,
      expiresAt: new Date(request.expiresAt),
      workflowId: request.workflowId,
      requestHash: request.requestHash,
      // The creating credential: only it may settle the reservation (reservations/service.ts).
      createdBy: actor,
      consumptionId: null,
      settledAt: null,
      createdAt: now,
      updatedAt: now,
    };
    await tx.reservation.createMany({ data: [reservation] });
    const reservationAllocations = allocations.map((a) => ({ reservationId: reservation.id, userPackageId: a.grantId, credits: a.credits }));
    await tx.reservationAllocation.createMany({ data: reservationAllocations });
    await applyMovements(
      tx,
      { userId: request.userId, referenceType: 'reservation', referenceId: reservation.id, actor },
      allocations.map((a) => ({ grantId: a.grantId, entryType: 'reserve', amount: -a.credits, reservedDelta: a.credits })),
    );
    await afterBalanceChange(tx, request.userId);
    return reservationView({ ...reservation, allocations: reservationAllocations });
  });
  return body;
}

/** Locks the user of a reservation, then reads the reservation with its allocations. */
async function lockReservation(tx: Tx, reservationId: string) {
  const head = await tx.reservation.findUnique({ where: { id: reservationId }, select: { userId: true } });
  if (!head) throw new BillingError('NOT_FOUND', `Reservation ${reservationId} not found.`, { reservationId });
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
  return runIdempotent(db, idempotency, async (tx) => {
    const reservation = await lockReservation(tx, reservationId);
    if (reservation.status !== 'held') throw notHeld(reservation);
    requireCommitWithinHold(reservation.quantity, quantity);
    const credits = reservation.unitPrice * quantity;
    const settlement = settleHold(
      reservation.allocations.map((a) => ({ grant: a.userPackage, credits: a.credits })),
      credits,
    );

    const consumption = await recordConsumption(tx, {
      userId: reservation.userId,
      actionKey: reservation.actionKey,
      quantity,
      unitPrice: reservation.unitPrice,
      creditsCost: credits,
      allocations: settlement.committed,
      reservationId: reservation.id,
    });
    const movements: Movement[] = settlement.perGrant.flatMap(({ grantId, committed, released }) => [
      ...(committed > 0 ? [{ grantId, entryType: 'commit' as const, amount: 0, reservedDelta: -committed, usedDelta: committed }] : []),
      ...(released > 0 ? [{ grantId, entryType: 'release' as const, amount: released, reservedDelta: -released }] : []),
    ]);
    await applyMovements(
      tx,
      { userId: reservation.userId, referenceType: 'reservation', referenceId: reservation.id, idempotencyKey: idempotency.key, actor },
      movements,
    );
    await recordEvent(tx, {
      type: 'reservation.committed',
      userId: reservation.userId,
      payload: {
        reservationId: reservation.id,
        consumptionId: consumption.id,
        actionKey: reservation.actionKey,
        quantity,
        credits,
        releasedCredits: settlement.perGrant.reduce((sum, part) => sum + part.released, 0),
      },
    });
    await afterBalanceChange(tx, reservation.userId);
    return {
      reservation: await settle(tx, reservation, { status: 'committed', consumptionId: consumption.id }),
      consumption,
    };
  });
}

/**
 * Returns every held credit to its grant. `outcome` is `released` (caller) or `expired` (deadline).
 * Running it again after success returns the settled reservation unchanged.
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
    if (reservation.status === outcome) return reservationView(reservation);
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
  const row = await db.reservation.findUnique({ where: { id: reservationId }, select: { createdBy: true } });
  return row ? row.createdBy : undefined;
}

export async function getReservation(db: Database, reservationId: string): Promise<ReservationView | null> {
  const reservation = await db.reservation.findUnique({ where: { id: reservationId }, include: withAllocations });
  return reservation ? reservationView(reservation) : null;
}
