/**
 * Which failures mean "a dependency is down" (PostgreSQL or Temporal), classified by the libraries'
 * error classes and codes, never message text, and the API error they become: 503
 * SERVICE_UNAVAILABLE with `Retry-After`, safe to retry with the same Idempotency-Key.
 *
 * What Prisma 7 with @prisma/adapter-pg throws, measured against a stopped and a restarted server
 * (tests/fault-injection.test.ts keeps it true):
 * - server stopped, new connection refused: PrismaClientKnownRequestError P1001 (model queries and
 *   transactions) or P2010 (raw queries), `meta.driverAdapterError.cause.kind = DatabaseNotReachable`;
 * - server shut down under a running statement: P2010 (or another P2xxx) whose driver cause is
 *   `kind: postgres, originalCode: 57P01` (admin shutdown); 57P03 while it starts up again;
 * - connection lost inside an interactive transaction: a plain `Error` from `pg` ("Client has
 *   encountered a connection error and is not queryable"): no class or code to go by, so the API
 *   decides such an unclassified failure by probing the database (platform/dependency-health.ts).
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { isGrpcServiceError } from '@temporalio/client';
import { BillingError } from './errors';
import { DatabaseError } from 'pg';
import { Prisma } from '../generated/prisma/client';

export type Dependency = 'database' | 'temporal';

/** 503 for a dependency outage; `dependency` is for the API's outage tracking, `details` for the caller. */
export class DependencyUnavailableError extends BillingError {
  constructor(
    readonly dependency: Dependency,
    retryAfterSeconds: number,
    readonly failure?: unknown,
  ) {
    super('SERVICE_UNAVAILABLE', `The ${dependency} is unavailable; retry with the same Idempotency-Key after ${retryAfterSeconds} s.`, {
      retryable: true,
      retryAfterSeconds,
      dependency,
    });
    this.name = 'DependencyUnavailableError';
  }
}

/** Prisma error codes for "could not talk to the server": unreachable, timed out, closed, pool exhausted, too many connections. */
const PRISMA_CONNECTION_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037']);
/** Driver adapter error kinds (@prisma/driver-adapter-utils) for the same. */
const ADAPTER_CONNECTION_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);

/**
 * PostgreSQL SQLSTATEs of a server that is going away or not there yet: class 08 (connection
 * exception), 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting up),
 * 53300 too many connections.
 */
function isUnavailableSqlState(code: unknown): boolean {
  return typeof code === 'string' && (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code));
}

/** Socket errors of a `pg` connection that could not be opened or was lost (hot paths that bypass Prisma). */
const SOCKET_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** The database server could not be reached or went away during the call. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientInitializationError) return true;
  // Raw `pg` (modules/credits/spend.ts, the deduct): the server's SQLSTATE, or the socket's error code.
  if (error instanceof DatabaseError) return isUnavailableSqlState(error.code);
  if (error instanceof Error && SOCKET_ERROR_CODES.has(String((error as NodeJS.ErrnoException).code))) return true;
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  if (PRISMA_CONNECTION_CODES.has(error.code)) return true;
  const cause = (error.meta as { driverAdapterError?: { cause?: { kind?: string; originalCode?: string } } } | undefined)?.driverAdapterError?.cause;
  return (cause?.kind !== undefined && ADAPTER_CONNECTION_KINDS.has(cause.kind)) || isUnavailableSqlState(cause?.originalCode);
}

/**
 * The Temporal frontend could not serve the call: gRPC UNAVAILABLE anywhere in the cause chain. That
 * covers a server that is down or restarting (connection refused, dropped) and Update-With-Start's
 * own UNAVAILABLE ("could not be executed", e.g. StartDeduped after a server restart): the server
 * asks the client to retry.
 */
export function isTemporalUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    if (isGrpcServiceError(current) && current.code === grpcStatus.UNAVAILABLE) return true;
  }
  return false;
}

/** The 503 for a failure that means a dependency is down, else undefined. */
export function dependencyOutageError(error: unknown, retryAfterSeconds: number): DependencyUnavailableError | undefined {
  if (error instanceof DependencyUnavailableError) return error;
  if (isDatabaseUnavailable(error)) return new DependencyUnavailableError('database', retryAfterSeconds, error);
  if (isTemporalUnavailable(error)) return new DependencyUnavailableError('temporal', retryAfterSeconds, error);
  return undefined;
}

/** The Retry-After header (seconds) of a refusal: the wait its details name, else 1 s (a 503 always has one). */
export function retryAfterHeader(error: BillingError): string {
  const seconds = error.details?.retryAfterSeconds;
  return String(typeof seconds === 'number' && seconds > 0 ? Math.ceil(seconds) : 1);
}
