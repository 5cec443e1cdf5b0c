/**
 * The one mapping between Temporal's failures and the API's error codes. Uses the SDK's error classes
 * (and gRPC status codes), never message text.
 */
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
  isGrpcServiceError,
} from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { status as grpcStatus } from '@grpc/grpc-js';
import { BillingError, isErrorCode } from './errors';
import { DependencyUnavailableError, isTemporalUnavailable } from './dependency-errors';

/** A refusal raised in a workflow or an activity (ApplicationFailure typed with one of our codes) as the API's error. */
export function refusalFromTemporal(error: unknown): BillingError | undefined {
  const cause = error instanceof WorkflowUpdateFailedError ? error.cause : error;
  const failure = cause instanceof ApplicationFailure ? cause : undefined;
  const inner = failure?.cause instanceof ApplicationFailure ? failure.cause : failure;
  if (!inner || !isErrorCode(inner.type)) return undefined;
  const details = inner.details?.[0];
  return new BillingError(inner.type, inner.message, (details ?? undefined) as Record<string, unknown> | undefined);
}

/** The call ran out of its deadline (gRPC DEADLINE_EXCEEDED, or the SDK's own error inside an update call). */
export function isTemporalTimeout(error: unknown): boolean {
  return isGrpcDeadlineError(error) || error instanceof WorkflowUpdateRPCTimeoutOrCancelledError;
}

/** The workflow run is not there to answer: never started, or already closed. */
export function isWorkflowGone(error: unknown): boolean {
  if (error instanceof WorkflowNotFoundError) return true;
  return isGrpcServiceError(error) && error.code === grpcStatus.NOT_FOUND;
}

/**
 * The error the API answers for a failed Temporal call: the refusal it carries; 503 with Retry-After
 * when the server is unavailable (gRPC UNAVAILABLE, including Update-With-Start's "could not be
 * executed") or the workflow did not answer in time (no worker); else the error itself (a 500).
 */
export function toApiError(error: unknown, retryAfterSeconds = 1): unknown {
  const refusal = refusalFromTemporal(error);
  if (refusal) return refusal;
  if (isTemporalUnavailable(error)) return new DependencyUnavailableError('temporal', retryAfterSeconds, error);
  if (isTemporalTimeout(error)) return workflowDidNotAnswer(retryAfterSeconds);
  return error;
}

/** 503 for a call the server took but no worker answered in time: the Temporal server itself is fine. */
function workflowDidNotAnswer(retryAfterSeconds: number): BillingError {
  return new BillingError('SERVICE_UNAVAILABLE', 'The workflow did not answer in time; retry with the same Idempotency-Key.', {
    retryable: true,
    retryAfterSeconds,
  });
}

/** A start refused because a run with this workflow id exists or existed (id reuse policy REJECT_DUPLICATE). */
export function isWorkflowIdTaken(error: unknown): boolean {
  return error instanceof WorkflowExecutionAlreadyStartedError;
}
