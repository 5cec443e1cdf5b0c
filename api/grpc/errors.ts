/**
 * Refusals over gRPC: the same BillingError as over HTTP, its status mapped to a gRPC code and its
 * stable code in a google.rpc.ErrorInfo detail (`reason`), so clients branch on the same codes.
 */
import { Code, ConnectError } from '@connectrpc/connect';
import { BillingError } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import type { DependencyHealth } from '../../platform/dependency-health';
import { classifyOutage } from '../outages';
import { ErrorInfoSchema } from './gen/google/rpc/error_details_pb';

/** ErrorInfo.domain of every refusal. */
export const ERROR_DOMAIN = 'durable-billing';

/**
 * The gRPC code for an HTTP status, after the mapping of google.rpc.Code's documentation. 402
 * (INSUFFICIENT_CREDITS) is FAILED_PRECONDITION: the caller must change the state (top up) before a
 * retry can succeed, whereas RESOURCE_EXHAUSTED tells clients to back off and retry (it is 429's).
 */
export function grpcCodeForHttpStatus(status: number): Code {
  switch (status) {
    case 400:
    case 413:
    case 415:
    case 422:
    case 431:
      return Code.InvalidArgument;
    case 401:
      return Code.Unauthenticated;
    case 402:
    case 412:
      return Code.FailedPrecondition;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.NotFound;
    case 408:
    case 504:
      return Code.DeadlineExceeded;
    case 409:
      return Code.Aborted;
    case 429:
      return Code.ResourceExhausted;
    case 501:
      return Code.Unimplemented;
    case 503:
      return Code.Unavailable;
    default:
      return status >= 400 && status < 500 ? Code.FailedPrecondition : Code.Internal;
  }
}

/** The gRPC error for a refusal: the message, and ErrorInfo with the stable code, the HTTP status and the details (JSON). */
export function connectErrorFrom(error: BillingError): ConnectError {
  const metadata: Record<string, string> = { httpStatus: String(error.httpStatus) };
  if (error.details !== undefined) metadata.details = JSON.stringify(error.details);
  return new ConnectError(error.message, grpcCodeForHttpStatus(error.httpStatus), undefined, [
    { desc: ErrorInfoSchema, value: { reason: error.code, domain: ERROR_DOMAIN, metadata } },
  ]);
}

/**
 * What the HTTP error handlers do (api/outages.ts, api/errors.ts), for a gRPC call: an outage becomes
 * UNAVAILABLE, a refusal keeps its code, anything else is logged with its stack and answered INTERNAL
 * without it.
 */
export async function toConnectError(error: unknown, health: DependencyHealth, log: Logger): Promise<ConnectError> {
  if (error instanceof ConnectError) return error;
  const classified = await classifyOutage(error, health);
  if (classified instanceof BillingError) return connectErrorFrom(classified);
  log.error({ err: error }, 'unhandled error');
  return connectErrorFrom(new BillingError('INTERNAL', 'Internal error. The request id identifies it in the logs.'));
}
