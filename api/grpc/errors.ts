/**
 * Refusals over gRPC: the same BillingError as over HTTP, its status mapped to a gRPC code and its
 * stable code in a google.rpc.ErrorInfo detail (`reason`), so clients branch on the same codes. One
 * mapping for both servers of the port (api/grpc/server.ts): grpc-js's (gRPC) and ConnectRPC's
 * (gRPC-Web, Connect).
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { anyPack, DurationSchema } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError } from '@connectrpc/connect';
import { Metadata, type StatusObject } from '@grpc/grpc-js';
import { BillingError } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import type { DependencyHealth } from '../../platform/dependency-health';
import { classifyOutage } from '../outages';
import { ErrorInfoSchema, RetryInfoSchema, type ErrorInfo, type RetryInfo } from './gen/google/rpc/error_details_pb';
import { StatusSchema } from './gen/google/rpc/status_pb';

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

/** A refusal's ErrorInfo: the stable code, the HTTP status and the details (JSON). */
export function errorInfoFrom(error: BillingError): ErrorInfo {
  const metadata: Record<string, string> = { httpStatus: String(error.httpStatus) };
  if (error.details !== undefined) metadata.details = JSON.stringify(error.details);
  return create(ErrorInfoSchema, { reason: error.code, domain: ERROR_DOMAIN, metadata });
}

/** How long a refusal asks the caller to wait (RATE_LIMITED, SERVICE_UNAVAILABLE: its details' retryAfterSeconds), if it does. */
function retryAfterSecondsOf(error: BillingError): number | undefined {
  const seconds = error.details?.retryAfterSeconds;
  return typeof seconds === 'number' && seconds > 0 ? seconds : undefined;
}

/** A google.rpc.RetryInfo for a refusal that asks the caller to wait: what gRPC clients' retry logic reads. */
export function retryInfoFrom(error: BillingError): RetryInfo | undefined {
  const seconds = retryAfterSecondsOf(error);
  return seconds === undefined ? undefined : create(RetryInfoSchema, { retryDelay: create(DurationSchema, { seconds: BigInt(Math.ceil(seconds)) }) });
}

/**
 * The ConnectRPC error for a refusal (gRPC-Web and Connect): the message, the code, its ErrorInfo, and
 * for one that asks the caller to wait a RetryInfo and `retry-after` (seconds, as HTTP's Retry-After) metadata.
 */
export function connectErrorFrom(error: BillingError): ConnectError {
  const retryInfo = retryInfoFrom(error);
  const details: ConstructorParameters<typeof ConnectError>[3] = [{ desc: ErrorInfoSchema, value: errorInfoFrom(error) }];
  if (retryInfo) details.push({ desc: RetryInfoSchema, value: retryInfo });
  const metadata = retryInfo ? { 'retry-after': String(retryInfo.retryDelay!.seconds) } : undefined;
  return new ConnectError(error.message, grpcCodeForHttpStatus(error.httpStatus), metadata, details);
}

/**
 * The grpc-js status for a refusal (gRPC): the same code, message and details (ErrorInfo, RetryInfo) in
 * a google.rpc.Status in the `grpc-status-details-bin` trailer, and `retry-after`, as ConnectRPC writes them.
 */
export function grpcStatusFrom(error: BillingError): StatusObject {
  const code = grpcCodeForHttpStatus(error.httpStatus);
  const retryInfo = retryInfoFrom(error);
  const details = [anyPack(ErrorInfoSchema, errorInfoFrom(error)), ...(retryInfo ? [anyPack(RetryInfoSchema, retryInfo)] : [])];
  const status = create(StatusSchema, { code, message: error.message, details });
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', Buffer.from(toBinary(StatusSchema, status)));
  if (retryInfo) metadata.set('retry-after', String(retryInfo.retryDelay!.seconds));
  // ConnectRPC's Code and grpc-js's status are both google.rpc.Code's numbers.
  return { code: code as number, details: error.message, metadata };
}

/**
 * What the HTTP error handlers do (api/outages.ts, api/errors.ts), for a gRPC call: an outage becomes
 * UNAVAILABLE, a refusal keeps its code, anything else is logged with its stack and answered INTERNAL
 * without it.
 */
export async function refusalFrom(error: unknown, health: DependencyHealth, log: Logger): Promise<BillingError> {
  const classified = await classifyOutage(error, health);
  if (classified instanceof BillingError) return classified;
  log.error({ err: error }, 'unhandled error');
  return new BillingError('INTERNAL', 'Internal error. The request id identifies it in the logs.');
}
