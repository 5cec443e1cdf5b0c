/**
 * The reservation workflow's public contract: its id, input, updates and query. Shared by the API
 * (client side) and the workflow; workflow-safe (no I/O imports).
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ConsumptionView, RefundView, ReservationView } from '../modules/credits/shapes';

export const reservationWorkflowId = (reservationId: string): string => `reservation-${reservationId}`;

export interface ReservationInput {
  reservationId: string;
  userId: string;
  actionKey: string;
  quantity: number;
  holdSeconds: number;
  maxHoldSeconds: number;
  refundWindowSeconds: number;
  /** Hash of the reserve request, so a reused key with other parameters is told apart. */
  requestHash: string;
  actor: string;
  /**
   * The hold the API has already placed (modules/reservations/service.ts): the run starts in `held` and guards
   * it. Absent in runs started before the API placed holds itself; those place the hold as their first
   * step (and answer the `reserve` update), exactly as they ran.
   */
  held?: ReservationView;
}

/** Identifies a caller's mutating request: the same key and hash replay; the same key, another hash, is rejected. */
export interface OperationKey {
  scope: string;
  key: string;
  requestHash: string;
  actor: string;
}

export interface CommitArgs extends OperationKey {
  /** Units used; defaults to everything held. */
  quantity?: number | undefined;
  /**
   * When the API accepted this commit (ISO-8601, API server time), and the grace it was accepted
   * under (COMMIT_GRACE_MS). The workflow judges the deadline by these with `commitAllowed` from
   * modules/reservations/rules/commit-time.ts; absent in requests from before the rule (judged at workflow time).
   */
  acceptedAt?: string | undefined;
  commitGraceMs?: number | undefined;
}
export interface ExtendArgs extends OperationKey {
  holdSeconds: number;
}
export interface RefundArgs extends OperationKey {
  credits?: number | undefined;
  reason: string;
}

export type ReservationPhase = 'reserving' | 'held' | 'committed' | 'released' | 'expired' | 'rejected';

export interface ReservationState {
  phase: ReservationPhase;
  reservation: ReservationView | null;
  consumption: ConsumptionView | null;
  refunds: RefundView[];
  /** Why the hold was rejected (e.g. INSUFFICIENT_CREDITS), when phase is `rejected`. */
  rejection: { code: string; message: string; details?: unknown } | null;
  /** Keys of mutating requests seen, with their request hash. */
  operations: Record<string, string>;
  refundWindowEndsAt: string | null;
}

export interface CommitResult {
  reservation: ReservationView;
  consumption: ConsumptionView;
}

export const reserveUpdate = defineUpdate<ReservationView, [{ requestHash: string }]>('reserve');
export const commitUpdate = defineUpdate<CommitResult, [CommitArgs]>('commit');
export const releaseUpdate = defineUpdate<ReservationView, [OperationKey]>('release');
export const extendUpdate = defineUpdate<ReservationView, [ExtendArgs]>('extend');
export const refundUpdate = defineUpdate<RefundView, [RefundArgs]>('refund');
export const stateQuery = defineQuery<ReservationState>('state');
