/**
 * Dependency outages at the HTTP edge: fail fast while the database is known to be down, and turn a
 * failure that means "PostgreSQL or Temporal is down" into 503 SERVICE_UNAVAILABLE with Retry-After
 * (never 500), recording the outage once (platform/dependency-health.ts logs it once, not per request).
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { BillingError } from '../platform/errors';
import { DependencyUnavailableError, dependencyOutageError } from '../platform/dependency-errors';
import type { DependencyHealth } from '../platform/dependency-health';

/** Every /v1 endpoint reads or writes PostgreSQL: while it is known to be down, answer 503 at once. */
export function failFastDuringOutage(health: DependencyHealth): RequestHandler {
  return (_req, _res, next) => {
    health.database.assertAvailable();
    next();
  };
}

/**
 * Runs before the error handler. A failure classified as an outage becomes its 503; a failure no
 * class or code explains (e.g. `pg`'s plain Error for a connection lost inside a transaction) is
 * checked against a probe of the database before it is allowed to become a 500.
 */
export function outageErrors(health: DependencyHealth): ErrorRequestHandler {
  return async (error, _req, _res, next) => next(await classifyOutage(error, health));
}

/** The error to answer for a failure (see outageErrors): its outage's 503 when it is one, else itself. Shared with gRPC. */
export async function classifyOutage(error: unknown, health: DependencyHealth): Promise<unknown> {
  if (error instanceof DependencyUnavailableError) {
    if (error.failure !== undefined) health[error.dependency].markDown(error.failure);
    return error;
  }
  const outage = dependencyOutageError(error, health.database.retryAfterSeconds);
  if (outage) {
    health[outage.dependency].markDown(error);
    return outage;
  }
  if (!(error instanceof BillingError) && !isClientError(error) && (await health.database.confirmDown(error))) {
    return new DependencyUnavailableError('database', health.database.retryAfterSeconds, error);
  }
  return error;
}

/** body-parser and friends mark the caller's mistakes with a 4xx status. */
function isClientError(error: unknown): boolean {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}
