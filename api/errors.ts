import 'pino-http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from '../infra/zod';
import { BillingError, type ErrorCode } from '../domain/errors';
import { DependencyUnavailableError, retryAfterHeader } from '../infra/dependency-errors';

/** The one error envelope every endpoint answers with. */
export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; details?: unknown };
}

function envelope(error: BillingError): ErrorEnvelope {
  return {
    error: { code: error.code, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) },
  };
}

export function validationError(error: z.ZodError, where: 'body' | 'query' | 'params' | 'headers'): BillingError {
  return new BillingError('VALIDATION_FAILED', `Invalid request ${where}.`, {
    issues: error.issues.map((issue) => ({ path: [where, ...issue.path].join('.'), message: issue.message })),
  });
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new BillingError('NOT_FOUND', `No route for ${req.method} ${req.path}.`));
};

/**
 * Last handler: business errors keep their status and code; body-parser errors are the caller's;
 * anything else is logged with its stack and answered as a bare INTERNAL error (no stack in responses).
 */
export const errorHandler: ErrorRequestHandler = (error, req, res, _next) => {
  if (res.headersSent) {
    // A streamed answer (CSV) failed midway: the status is gone, so cut the connection short.
    req.log?.error({ err: error }, 'response failed after headers were sent');
    res.destroy();
    return;
  }
  let billingError: BillingError;
  if (error instanceof BillingError) {
    billingError = error;
  } else if (isBodyParserError(error)) {
    billingError =
      error.type === 'entity.too.large'
        ? new BillingError('PAYLOAD_TOO_LARGE', 'Request body is too large.')
        : new BillingError('VALIDATION_FAILED', 'Request body is not valid JSON.');
  } else {
    req.log?.error({ err: error }, 'unhandled error');
    billingError = new BillingError('INTERNAL', 'Internal error. The request id identifies it in the logs.');
  }
  // An outage is logged once by infra/dependency-health.ts, not per request.
  if (billingError.httpStatus >= 500 && billingError.code !== 'INTERNAL' && !(billingError instanceof DependencyUnavailableError)) req.log?.warn({ err: error }, billingError.message);
  if (billingError.code === 'SERVICE_UNAVAILABLE') res.setHeader('Retry-After', retryAfterHeader(billingError));
  res.status(billingError.httpStatus).json(envelope(billingError));
};

function isBodyParserError(error: unknown): error is { type: string; status: number } {
  return typeof error === 'object' && error !== null && 'type' in error && 'status' in error && typeof (error as { status: unknown }).status === 'number' && (error as { status: number }).status < 500;
}
