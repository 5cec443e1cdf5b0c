/**
 * The reservation service: the one way into a reservation's workflow, for any entry point (HTTP today;
 * webhooks, schedules or other workflows tomorrow). It takes its own dependencies, never the API's.
 */
import type { Client } from '@temporalio/client';
import { BillingError } from '../../platform/errors';
import type { Database } from '../../platform/database';
import type { Logger } from '../../platform/logger';
import { isTemporalTimeout, isWorkflowGone, isWorkflowIdTaken, toApiError } from '../../platform/temporal-errors';
import { DependencyUnavailableError } from '../../platform/dependency-errors';
import type { DependencyMonitor } from '../../platform/dependency-health';
import { findStoredResult, runClaimed, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';
import { idFromKey, updateIdFor } from '../../platform/idempotency/fingerprint';
import { commitReservation, getReservation, holdCredits, releaseReservation, reservationOwner, listRefunds, refundConsumption, type RefundView, type ReservationView } from '../credits';
import { holdDeadline } from '../credits/rules/holds';
import { countCreditOperation } from '../../platform/metrics';
import type { reservationWorkflow } from '../../workflows/reservation';
import { ActionKeyKey, ReservationIdKey, ReservationStatusKey, UserIdKey } from '../../workflows/search-attributes';
import {
  commitUpdate,
  extendUpdate,
  refundUpdate,
  releaseUpdate,
  reservationWorkflowId,
  stateQuery,
  type CommitResult,
  type ReservationInput
} from '../../workflows/reservation-contract';

/** Namespace for deriving reservation ids from (credential, Idempotency-Key): a retried reserve finds its run. */
const RESERVATION_ID_NAMESPACE = '8f9c1d52-3c1e-4c57-9d7a-6a0f1d8b2e41';

/** The reservation a reserve under this (credential, key) creates. */
function reservationIdFor(idempotency: Idempotency): string {
  return idFromKey(idempotency, RESERVATION_ID_NAMESPACE);
}

export interface ReservationServiceDeps {
  db: Database;
  temporal: Client;
  config: {
    TEMPORAL_TASK_QUEUE: string;
    RESERVATION_DEFAULT_HOLD_SECONDS: number;
    RESERVATION_MAX_HOLD_SECONDS: number;
    REFUND_WINDOW_DAYS: number;
    REFUND_GRACE_DAYS: number;
    RESERVATION_CALL_TIMEOUT_MS: number;
    COMMIT_GRACE_MS: number;
  };
  /**
   * What is known about the Temporal server's health: while it is down, calls fail fast with 503;
   * a call that timed out is checked against it (server down, or just no worker?).
   */
  health?: { temporal: DependencyMonitor };
}

/** Retry-After for a workflow that did not answer in time (no worker) when no monitor says otherwise. */
const DEFAULT_RETRY_AFTER_SECONDS = 2;

export interface ReserveRequest {
  userId: string;
  actionKey: string;
  quantity: number;
  holdSeconds?: number | undefined;
}

export interface ReservationStateView {
  reservation: ReservationView;
  phase: string;
  refunds: RefundView[];
}

export class ReservationService {
  /** `requestLog`: the caller's logger, so its log lines name the workflow the request reached. */
  constructor(
    private readonly deps: ReservationServiceDeps,
    private readonly requestLog?: Pick<Logger, 'setBindings'>,
  ) {}

  private handle(reservationId: string) {
    const workflowId = reservationWorkflowId(reservationId);
    this.requestLog?.setBindings({ workflowId });
    return this.deps.temporal.workflow.getHandle(workflowId);
  }

  /**
   * Reserve: the API places the hold itself (one SQL call, idempotent by the reservation id the key
   * derives), then starts the reservation's run with the hold in its input, without waiting for a
   * worker: the answer is the database's, and the run only guards the hold from then on (its deadline,
   * commit, release, extend, refunds). A refusal starts no run. If the API dies between the hold and
   * the start, a retry under the same key finishes the job; without a retry the expiry sweep releases
   * the overdue hold (modules/credits/reservations.ts, expireOverdueHolds).
   */
  async reserve(request: ReserveRequest, idempotency: Idempotency, actor: string): Promise<IdempotentResult<ReservationView>> {
    const { config, db } = this.deps;
    const holdSeconds = request.holdSeconds ?? config.RESERVATION_DEFAULT_HOLD_SECONDS;
    const reservationId = reservationIdFor(idempotency);
    const workflowId = reservationWorkflowId(reservationId);
    this.requestLog?.setBindings({ workflowId });
    return this.once(idempotency, async () => {
      // The deadline and the creation time are both this clock's, read once (modules/credits/rules/holds.ts bounds it).
      const now = new Date();
      const expiresAt = holdDeadline({ now, holdSeconds, createdAt: now, maxHoldSeconds: config.RESERVATION_MAX_HOLD_SECONDS });
      // Counted as the worker counts the holds of runs that place their own (operation holdCredits).
      const held = await countCreditOperation('holdCredits', () =>
        holdCredits(
          db,
          { reservationId, workflowId, userId: request.userId, actionKey: request.actionKey, quantity: request.quantity, expiresAt: expiresAt.toISOString(), requestHash: idempotency.requestHash },
          actor,
        ),
      );
      // A retry that finds the reservation settled already: its run has done its work.
      if (held.status !== 'held') return held;
      const input: ReservationInput = {
        reservationId,
        userId: request.userId,
        actionKey: request.actionKey,
        quantity: request.quantity,
        holdSeconds,
        maxHoldSeconds: config.RESERVATION_MAX_HOLD_SECONDS,
        refundWindowSeconds: config.REFUND_WINDOW_DAYS * 86_400,
        requestHash: idempotency.requestHash,
        actor,
        held,
      };
      try {
        await this.withinCallTimeout(() =>
          this.deps.temporal.workflow.start<typeof reservationWorkflow>('reservationWorkflow', {
            workflowId,
            taskQueue: config.TEMPORAL_TASK_QUEUE,
            args: [input],
            // One run per reservation, ever: a retry while the run is open finds it (USE_EXISTING); after
            // it closed the server refuses another (REJECT_DUPLICATE) and the row above is the answer.
            workflowIdConflictPolicy: 'USE_EXISTING',
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            typedSearchAttributes: [
              { key: UserIdKey, value: request.userId },
              { key: ActionKeyKey, value: request.actionKey },
              { key: ReservationIdKey, value: reservationId },
              { key: ReservationStatusKey, value: 'held' },
            ],
          }),
        );
      } catch (error) {
        if (!isWorkflowIdTaken(error)) throw await this.apiError(error);
        return this.requireReservation(reservationId);
      }
      return held;
    });
  }

  /**
   * toApiError, plus: fail fast while the server is known to be down, and tell a server outage from
   * a missing worker when a call timed out (both 503 with Retry-After; the outage is recorded once).
   */
  private async apiError(error: unknown): Promise<unknown> {
    const monitor = this.deps.health?.temporal;
    const retryAfter = monitor?.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS;
    if (monitor && isTemporalTimeout(error) && (await monitor.confirmDown(error))) {
      return new DependencyUnavailableError('temporal', retryAfter);
    }
    const mapped = toApiError(error, retryAfter);
    if (mapped instanceof DependencyUnavailableError) monitor?.markDown(error);
    return mapped;
  }

  async commit(reservationId: string, quantity: number | undefined, idempotency: Idempotency, actor: string): Promise<IdempotentResult<CommitResult>> {
    await this.requireSettler(reservationId, actor);
    return this.update(
      reservationId,
      idempotency,
      () =>
        this.handle(reservationId).executeUpdate(commitUpdate, {
          // acceptedAt: the deadline is judged by when the API accepted the commit (modules/reservations/rules/commit-time.ts).
          args: [{ ...idempotency, actor, quantity, acceptedAt: new Date().toISOString(), commitGraceMs: this.deps.config.COMMIT_GRACE_MS }],
          updateId: updateIdFor('commit', idempotency, reservationId),
        }),
      async () => {
        const held = quantity ?? (await this.requireReservation(reservationId)).quantity;
        return (await commitReservation(this.deps.db, reservationId, held, idempotency, actor)).body;
      },
    );
  }

  async release(reservationId: string, idempotency: Idempotency, actor: string): Promise<IdempotentResult<ReservationView>> {
    await this.requireSettler(reservationId, actor);
    return this.update(
      reservationId,
      idempotency,
      () =>
        this.handle(reservationId).executeUpdate(releaseUpdate, {
          args: [{ ...idempotency, actor }],
          updateId: updateIdFor('release', idempotency, reservationId),
        }),
      () => releaseReservation(this.deps.db, reservationId, 'released', actor, idempotency),
    );
  }

  async extend(reservationId: string, holdSeconds: number, idempotency: Idempotency, actor: string): Promise<IdempotentResult<ReservationView>> {
    await this.requireSettler(reservationId, actor);
    return this.update(reservationId, idempotency, () =>
      this.handle(reservationId).executeUpdate(extendUpdate, {
        args: [{ ...idempotency, actor, holdSeconds }],
        updateId: updateIdFor('extend', idempotency, reservationId),
      }),
    );
  }

  /**
   * Refunds the consumption a reservation committed. Within the refund window the reservation's
   * workflow records it; after the window closes the credit engine does it directly (same rules).
   */
  async refund(
    reservationId: string,
    request: { credits?: number | undefined; reason: string },
    idempotency: Idempotency,
    actor: string,
  ): Promise<IdempotentResult<RefundView>> {
    await this.requireSettler(reservationId, actor);
    const reservation = await this.requireReservation(reservationId);
    if (!reservation.consumptionId) {
      throw new BillingError('RESERVATION_NOT_HELD', `Reservation ${reservationId} is ${reservation.status}; only a committed reservation can be refunded.`, {
        status: reservation.status,
      });
    }
    const consumptionId = reservation.consumptionId;
    return this.once(idempotency, async () => {
      try {
        return await this.withinCallTimeout(() =>
          this.handle(reservationId).executeUpdate(refundUpdate, {
            args: [{ ...idempotency, actor, ...request }],
            updateId: updateIdFor('refund', idempotency, reservationId),
          }),
        );
      } catch (error) {
        if (!isWorkflowGone(error)) throw await this.apiError(error);
        const { config, db } = this.deps;
        return (await refundConsumption(db, { consumptionId, ...request }, { graceDays: config.REFUND_GRACE_DAYS }, idempotency, actor)).body;
      }
    });
  }

  /** Refunds a consumption: through its reservation's workflow when it came from one, so the run's state stays true. */
  async refundConsumption(
    consumptionId: string,
    request: { credits?: number | undefined; reason: string },
    idempotency: Idempotency,
    actor: string,
  ): Promise<IdempotentResult<RefundView>> {
    const reservation = await this.deps.db.reservation.findUnique({ where: { consumptionId }, select: { id: true } });
    if (reservation) return this.refund(reservation.id, request, idempotency, actor);
    return refundConsumption(this.deps.db, { consumptionId, ...request }, { graceDays: this.deps.config.REFUND_GRACE_DAYS }, idempotency, actor);
  }

  /** The workflow's live state (its query) while it runs; the database's record once it has closed. */
  async state(reservationId: string, reader?: string): Promise<ReservationStateView> {
    if (reader !== undefined) await this.requireSettler(reservationId, reader);
    const handle = this.handle(reservationId);
    this.deps.health?.temporal.assertAvailable();
    try {
      const { status } = await handle.describe();
      if (status.name === 'RUNNING') {
        const state = await handle.query(stateQuery);
        if (state.reservation) return { reservation: state.reservation, phase: state.phase, refunds: state.refunds };
      }
    } catch (error) {
      if (!isWorkflowGone(error)) throw await this.apiError(error);
    }
    const reservation = await this.requireReservation(reservationId);
    const refunds = reservation.consumptionId ? await listRefunds(this.deps.db, reservation.consumptionId) : [];
    return { reservation, phase: reservation.status, refunds };
  }

  /**
   * Bounds the wait for a workflow's answer (no worker running, say). Every call is idempotent, so the
   * caller can retry with the same Idempotency-Key and gets the answer once the worker is back.
   */
  private async withinCallTimeout<T>(call: () => Promise<T>): Promise<T> {
    this.deps.health?.temporal.assertAvailable();
    return this.deps.temporal.withDeadline(Date.now() + this.deps.config.RESERVATION_CALL_TIMEOUT_MS, call);
  }

  private async requireReservation(reservationId: string): Promise<ReservationView> {
    const reservation = await getReservation(this.deps.db, reservationId);
    if (!reservation) throw new BillingError('NOT_FOUND', `Reservation ${reservationId} not found.`, { reservationId });
    return reservation;
  }

  /**
   * Sends an update. If the run has closed, a retry gets its stored first answer; a reservation the
   * database still shows as held (its run was terminated by an operator) is settled by the credit
   * engine directly, so its credits are never stuck; anything else is a clear refusal.
   */
  private async update<T>(
    reservationId: string,
    idempotency: Idempotency,
    send: () => Promise<T>,
    settleWithoutWorkflow?: () => Promise<T>,
  ): Promise<IdempotentResult<T>> {
    return this.once(idempotency, async () => {
      try {
        return await this.withinCallTimeout(send);
      } catch (error) {
        if (!isWorkflowGone(error)) throw await this.apiError(error);
        const stored = await findStoredResult<T>(this.deps.db, idempotency);
        if (stored !== undefined) return stored;
        const reservation = await this.requireReservation(reservationId);
        if (reservation.status === 'held' && settleWithoutWorkflow) return settleWithoutWorkflow();
        throw new BillingError(
          'RESERVATION_NOT_HELD',
          reservation.status === 'held'
            ? `Reservation ${reservationId} is held but its workflow has closed; commit or release it.`
            : `Reservation ${reservationId} is ${reservation.status}, not held.`,
          { status: reservation.status },
        );
      }
    });
  }

  /**
   * The one idempotency rule for work done by a workflow (platform/idempotency/store.ts, runClaimed): the key is
   * claimed in the credential's namespace before the workflow is reached (so a key first used on another
   * endpoint is refused, and a finished request replays its stored first answer byte for byte, marked as
   * a replay); the answer is stored when it arrives; a refusal frees the key. A timeout (503) keeps the
   * claim: the retry picks up the answer.
   */
  private once<T>(idempotency: Idempotency, run: () => Promise<T>): Promise<IdempotentResult<T>> {
    return runClaimed(this.deps.db, idempotency, run);
  }

  /**
   * Only the credential that created a reservation may settle it (admins excepted). Another service's
   * reservation answers NOT_FOUND, exactly as a missing one: a service cannot learn that an id exists.
   * Rows created before the creator was recorded (createdBy null), and reservations whose hold has not
   * been written yet, are left to the workflow's own checks.
   */
  private async requireSettler(reservationId: string, actor: string): Promise<void> {
    if (actor.startsWith('admin:')) return;
    const owner = await reservationOwner(this.deps.db, reservationId);
    if (owner && owner !== actor) {
      throw new BillingError('NOT_FOUND', `Reservation ${reservationId} not found.`, { reservationId });
    }
  }
}
