import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { v5 as uuidv5 } from 'uuid';
import { BillingError, isErrorCode } from '../domain/errors';
import type { Idempotency } from '../credits/transaction';
import { findStoredResult } from '../credits/transaction';
import { commitReservation, getReservation, releaseReservation } from '../credits/reservations';
import { listRefunds, refundConsumption } from '../credits/refunds';
import type { RefundView, ReservationView } from '../credits/views';
import type { reservationWorkflow } from '../workflows/reservation';
import { ActionKeyKey, ReservationIdKey, ReservationStatusKey, UserIdKey } from '../workflows/search-attributes';
import {
  commitUpdate,
  extendUpdate,
  refundUpdate,
  releaseUpdate,
  reservationWorkflowId,
  reserveUpdate,
  stateQuery,
  type CommitResult,
  type ReservationInput,
} from '../workflows/reservation-contract';
import type { Logger } from '../infra/logger';
import type { ApiDeps } from './deps';

/** Namespace for deriving reservation ids from (credential, Idempotency-Key): a retried reserve finds its run. */
const RESERVATION_ID_NAMESPACE = '8f9c1d52-3c1e-4c57-9d7a-6a0f1d8b2e41';

/** A stable UUID for (credential, Idempotency-Key): names the reservation a reserve creates. */
export function reservationIdFor(idempotency: Idempotency): string {
  return uuidv5(`${idempotency.scope}\n${idempotency.key}`, RESERVATION_ID_NAMESPACE);
}

/** Update ids are unique per key and parameters: a retry is deduplicated by Temporal, a changed request is not. */
function updateId(operation: string, idempotency: Idempotency): string {
  return `${operation}:${idempotency.requestHash.slice(0, 32)}:${reservationIdFor(idempotency)}`;
}

/** Turns a refusal raised in the workflow or an activity back into the API's error. */
function toBillingError(error: unknown): unknown {
  const cause = error instanceof WorkflowUpdateFailedError ? error.cause : error;
  const failure = cause instanceof ApplicationFailure ? cause : undefined;
  const inner = failure?.cause instanceof ApplicationFailure ? failure.cause : failure;
  if (inner && isErrorCode(inner.type)) {
    const details = inner.details?.[0];
    return new BillingError(inner.type, inner.message, (details ?? undefined) as Record<string, unknown> | undefined);
  }
  return error;
}

function isClosedOrMissing(error: unknown): boolean {
  if (error instanceof WorkflowNotFoundError) return true;
  const message = error instanceof Error ? error.message : '';
  return /workflow execution already completed|not found/i.test(message);
}

export interface ReserveRequest {
  userId: string;
  actionKey: string;
  quantity: number;
  holdSeconds?: number | undefined;
}

export class ReservationClient {
  /** `requestLog`: the request's logger, so its log lines name the workflow the request reached. */
  constructor(
    private readonly deps: ApiDeps,
    private readonly requestLog?: Pick<Logger, 'setBindings'>,
  ) {}

  private handle(reservationId: string) {
    const workflowId = reservationWorkflowId(reservationId);
    this.requestLog?.setBindings({ workflowId });
    return this.deps.temporal.workflow.getHandle(workflowId);
  }

  /** Reserve in one round trip: Update-With-Start creates the run (or finds it on a retry) and waits for the hold. */
  async reserve(request: ReserveRequest, idempotency: Idempotency, actor: string): Promise<ReservationView> {
    const { config } = this.deps;
    // The workflow checks the max-hold bound (domain/holds.ts) where it computes the deadline.
    const holdSeconds = request.holdSeconds ?? config.RESERVATION_DEFAULT_HOLD_SECONDS;
    const reservationId = reservationIdFor(idempotency);
    this.requestLog?.setBindings({ workflowId: reservationWorkflowId(reservationId) });
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
    };
    const start = new WithStartWorkflowOperation<typeof reservationWorkflow>('reservationWorkflow', {
      workflowId: reservationWorkflowId(reservationId),
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: UserIdKey, value: request.userId },
        { key: ActionKeyKey, value: request.actionKey },
        { key: ReservationIdKey, value: reservationId },
        { key: ReservationStatusKey, value: 'reserving' },
      ],
    });
    try {
      return await this.withinCallTimeout(() =>
        this.deps.temporal.workflow.executeUpdateWithStart(reserveUpdate, {
          args: [{ requestHash: idempotency.requestHash }],
          updateId: updateId('reserve', idempotency),
          startWorkflowOperation: start,
        }),
      );
    } catch (error) {
      throw toBillingError(error);
    }
  }

  async commit(reservationId: string, quantity: number | undefined, idempotency: Idempotency, actor: string): Promise<CommitResult> {
    return this.update(
      reservationId,
      idempotency,
      () =>
        this.handle(reservationId).executeUpdate(commitUpdate, {
          args: [{ ...idempotency, actor, quantity }],
          updateId: updateId('commit', idempotency),
        }),
      async () => {
        const held = quantity ?? (await this.requireReservation(reservationId)).quantity;
        return (await commitReservation(this.deps.db, reservationId, held, idempotency, actor)).body;
      },
    );
  }

  async release(reservationId: string, idempotency: Idempotency, actor: string): Promise<ReservationView> {
    return this.update(
      reservationId,
      idempotency,
      () =>
        this.handle(reservationId).executeUpdate(releaseUpdate, {
          args: [{ ...idempotency, actor }],
          updateId: updateId('release', idempotency),
        }),
      () => releaseReservation(this.deps.db, reservationId, 'released', actor, idempotency),
    );
  }

  async extend(reservationId: string, holdSeconds: number, idempotency: Idempotency, actor: string): Promise<ReservationView> {
    return this.update(reservationId, idempotency, () =>
      this.handle(reservationId).executeUpdate(extendUpdate, {
        args: [{ ...idempotency, actor, holdSeconds }],
        updateId: updateId('extend', idempotency),
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
  ): Promise<RefundView> {
    const reservation = await this.requireReservation(reservationId);
    if (!reservation.consumptionId) {
      throw new BillingError('RESERVATION_NOT_HELD', `Reservation ${reservationId} is ${reservation.status}; only a committed reservation can be refunded.`, {
        status: reservation.status,
      });
    }
    const consumptionId = reservation.consumptionId;
    try {
      return await this.withinCallTimeout(() =>
        this.handle(reservationId).executeUpdate(refundUpdate, {
          args: [{ ...idempotency, actor, ...request }],
          updateId: updateId('refund', idempotency),
        }),
      );
    } catch (error) {
      if (!isClosedOrMissing(error)) throw toBillingError(error);
      const { config, db } = this.deps;
      return (await refundConsumption(db, { consumptionId, ...request }, { graceDays: config.REFUND_GRACE_DAYS }, idempotency, actor)).body;
    }
  }

  /** The workflow's live state (its query) while it runs; the database's record once it has closed. */
  async state(reservationId: string): Promise<{ reservation: ReservationView; phase: string; refunds: RefundView[] }> {
    const handle = this.handle(reservationId);
    try {
      const { status } = await handle.describe();
      if (status.name === 'RUNNING') {
        const state = await handle.query(stateQuery);
        if (state.reservation) return { reservation: state.reservation, phase: state.phase, refunds: state.refunds };
      }
    } catch (error) {
      if (!isClosedOrMissing(error)) throw error;
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
    try {
      return await this.deps.temporal.withDeadline(Date.now() + this.deps.config.RESERVATION_CALL_TIMEOUT_MS, call);
    } catch (error) {
      // The deadline surfaces as a gRPC DEADLINE_EXCEEDED or, inside the update call, as the SDK's own error.
      if (isGrpcDeadlineError(error) || error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
        throw new BillingError(
          'SERVICE_UNAVAILABLE',
          'The reservation workflow did not answer in time; retry with the same Idempotency-Key.',
          { retryable: true },
        );
      }
      throw error;
    }
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
  ): Promise<T> {
    try {
      return await this.withinCallTimeout(send);
    } catch (error) {
      if (!isClosedOrMissing(error)) throw toBillingError(error);
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
  }
}
