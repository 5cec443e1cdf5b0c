/**
 * An in-memory stand-in for the credit engine's activities (activities/index.ts), for workflow tests
 * that are about sequencing, timers and messages rather than SQL. It honours the activities' contract:
 * - the same signatures (typed against BillingActivities);
 * - business refusals come back as values (`{ ok: false, refusal }`) with the engine's codes, using
 *   the same rule functions where a rule is shared (modules/credits/rules/holds.ts);
 * - idempotent like the engine: a hold by reservation id, commit/release/refund by idempotency key
 *   (same key + other request hash: IDEMPOTENCY_KEY_REUSED), expire and extend by reservation status;
 * - one user with `available` credits at 1 credit per unit.
 * Times come from `clock` (the test server's, so they line up with skipped workflow time).
 * The engine itself is tested against PostgreSQL elsewhere (tests/engine-model.test.ts and others).
 */
import { asOutcome, type Outcome } from '../../activities/outcome';
import type { ReservationActivities as BillingActivities } from '../../activities/reservations';
import type { HoldRequest } from '../../modules/credits/reservations';
import type { ConsumptionView, RefundView, ReservationView } from '../../modules/credits/views';
import { BillingError } from '../../platform/errors';
import { requireCommitWithinHold } from '../../modules/credits/rules/holds';
import type { CommitArgs, OperationKey, RefundArgs } from '../../workflows/reservation-contract';

const GRANT_ID = 'grant-1';

export class FakeCreditEngine {
  available: number;
  readonly reservations = new Map<string, ReservationView>();
  private readonly holdRequestHashes = new Map<string, string>();
  readonly consumptions = new Map<string, ConsumptionView>();
  /** Activity names in the order they ran. */
  readonly calls: string[] = [];
  /** Most activities that ran at the same time (the workflow runs one state-changing step at a time). */
  maxConcurrent = 0;
  private running = 0;
  private readonly replies = new Map<string, { requestHash: string; body: unknown }>();
  private nextId = 1;

  constructor(
    credits: number,
    private readonly clock: () => Promise<number>,
  ) {
    this.available = credits;
  }

  readonly activities: BillingActivities = {
    holdCredits: (request, actor) => this.run('holdCredits', () => this.hold(request, actor)),
    commitReservation: (reservationId, args) =>
      this.run('commitReservation', () => this.idempotent(args, () => this.commit(reservationId, args))),
    releaseReservation: (reservationId, op) =>
      this.run('releaseReservation', () => this.idempotent(op, () => this.settle(reservationId, 'released'))),
    expireReservation: (reservationId) => this.run('expireReservation', () => this.settle(reservationId, 'expired')),
    extendReservation: (reservationId, expiresAtIso) => this.run('extendReservation', () => this.extend(reservationId, expiresAtIso)),
    refundConsumption: (consumptionId, args) =>
      this.run('refundConsumption', () => this.idempotent(args, () => this.refund(consumptionId, args))),
  };

  private async hold(request: HoldRequest, _actor: string): Promise<ReservationView> {
    const existing = this.reservations.get(request.reservationId);
    if (existing) {
      // The reservation id is the hold's idempotency key.
      if (this.holdRequestHashes.get(existing.id) !== request.requestHash) {
        throw new BillingError('IDEMPOTENCY_KEY_REUSED', 'This reservation was created with different parameters.');
      }
      return existing;
    }
    if (this.available < request.quantity) {
      throw new BillingError('INSUFFICIENT_CREDITS', 'Not enough credits.', { required: request.quantity, available: this.available });
    }
    this.available -= request.quantity;
    const reservation: ReservationView = {
      id: request.reservationId,
      userId: request.userId,
      actionKey: request.actionKey,
      quantity: request.quantity,
      unitPrice: 1,
      creditsHeld: request.quantity,
      status: 'held',
      expiresAt: new Date(request.expiresAt).toISOString(),
      consumptionId: null,
      allocations: [{ grantId: GRANT_ID, credits: request.quantity }],
      createdAt: await this.now(),
      settledAt: null,
    };
    this.reservations.set(reservation.id, reservation);
    this.holdRequestHashes.set(reservation.id, request.requestHash);
    return reservation;
  }

  private async commit(reservationId: string, args: CommitArgs & { quantity: number }) {
    const reservation = this.heldReservation(reservationId);
    requireCommitWithinHold(reservation.quantity, args.quantity);
    const cost = args.quantity * reservation.unitPrice;
    this.available += reservation.creditsHeld - cost;
    const consumption: ConsumptionView = {
      id: `consumption-${this.nextId++}`,
      userId: reservation.userId,
      actionKey: reservation.actionKey,
      quantity: args.quantity,
      unitPrice: reservation.unitPrice,
      creditsCost: cost,
      creditsRefunded: 0,
      reservationId,
      metadata: null,
      allocations: [{ grantId: GRANT_ID, credits: cost }],
      createdAt: await this.now(),
    };
    this.consumptions.set(consumption.id, consumption);
    const committed = this.update(reservationId, { status: 'committed', consumptionId: consumption.id, settledAt: await this.now() });
    return { reservation: committed, consumption };
  }

  private async settle(reservationId: string, outcome: 'released' | 'expired'): Promise<ReservationView> {
    const reservation = this.reservation(reservationId);
    if (reservation.status === outcome) return reservation;
    this.heldReservation(reservationId);
    this.available += reservation.creditsHeld;
    return this.update(reservationId, { status: outcome, settledAt: await this.now() });
  }

  private async extend(reservationId: string, expiresAtIso: string): Promise<ReservationView> {
    this.heldReservation(reservationId);
    return this.update(reservationId, { expiresAt: new Date(expiresAtIso).toISOString() });
  }

  private async refund(consumptionId: string, args: RefundArgs): Promise<RefundView> {
    const consumption = this.consumptions.get(consumptionId);
    if (!consumption) throw new BillingError('NOT_FOUND', `Consumption ${consumptionId} not found.`);
    const refundable = consumption.creditsCost - consumption.creditsRefunded;
    const credits = args.credits ?? refundable;
    if (credits < 1 || credits > refundable) {
      throw new BillingError('REFUND_EXCEEDS_CONSUMPTION', `Cannot refund ${credits} credits.`, { refundable, requested: credits });
    }
    consumption.creditsRefunded += credits;
    this.available += credits;
    return {
      id: `refund-${this.nextId++}`,
      consumptionId,
      credits,
      reason: args.reason,
      consumptionCreditsRefunded: consumption.creditsRefunded,
      returnedTo: [{ grantId: GRANT_ID, credits, replacementFor: null }],
      createdAt: await this.now(),
    };
  }

  private reservation(reservationId: string): ReservationView {
    const reservation = this.reservations.get(reservationId);
    if (!reservation) throw new BillingError('NOT_FOUND', `Reservation ${reservationId} not found.`, { reservationId });
    return reservation;
  }

  private heldReservation(reservationId: string): ReservationView {
    const reservation = this.reservation(reservationId);
    if (reservation.status !== 'held') {
      throw new BillingError('RESERVATION_NOT_HELD', `Reservation ${reservationId} is ${reservation.status}, not held.`, {
        reservationId,
        status: reservation.status,
      });
    }
    return reservation;
  }

  private update(reservationId: string, change: Partial<ReservationView>): ReservationView {
    const updated = { ...this.reservation(reservationId), ...change };
    this.reservations.set(reservationId, updated);
    return updated;
  }

  /** Same key and request: the first answer again; same key, other request: refused; else do it. */
  private async idempotent<T>(op: OperationKey, work: () => Promise<T>): Promise<T> {
    const key = `${op.scope}:${op.key}`;
    const stored = this.replies.get(key);
    if (stored) {
      if (stored.requestHash !== op.requestHash) {
        throw new BillingError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with different parameters.');
      }
      return stored.body as T;
    }
    const body = await work();
    this.replies.set(key, { requestHash: op.requestHash, body });
    return body;
  }

  private async now(): Promise<string> {
    return new Date(await this.clock()).toISOString();
  }

  /** As the real activities do (activities/outcome.ts): a BillingError is an answer (a value), anything else a failure. */
  private async run<T>(name: string, work: () => Promise<T>): Promise<Outcome<T>> {
    this.calls.push(name);
    this.running++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.running);
    try {
      return await asOutcome(work);
    } finally {
      this.running--;
    }
  }
}
