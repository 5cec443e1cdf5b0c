import './request-log';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from '../platform/zod';
import { BillingError, type ErrorCode } from '../platform/errors';
import { DependencyUnavailableError, retryAfterHeader } from '../platform/dependency-errors';
import { isUniqueViolation } from '../platform/database';

/** The one error envelope every endpoint answers with. */
export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export function envelope(error: BillingError): ErrorEnvelope {
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
 * Last handler. Business errors keep their status and code. Every error the HTTP stack raises with a
 * 4xx status (body-parser: bad JSON, a compressed body that does not inflate, an unsupported encoding
 * or charset, a body too large; the router: a path parameter with malformed percent-encoding; send: a
 * bad Range) is the caller's: it keeps its status and gets the envelope, logged at info without a
 * stack. Anything else is ours: logged with its stack at error level and answered as a bare INTERNAL
 * error (no stack in responses).
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
  } else if (clientErrorStatus(error) !== undefined) {
    billingError = fromHttpStackError(error as HttpStackError);
    req.log?.info({ code: billingError.code, status: billingError.httpStatus, reason: (error as Error).message }, 'request refused by the HTTP layer');
  } else if (isUniqueViolation(error)) {
    // Two requests created one unique thing at once and no code path turned the loser's collision into
    // a refusal: a conflict the caller can act on, not our failure. Logged with its stack (warn), so
    // the path gets its own ALREADY_EXISTS (or waits for the winner) where it happens.
    req.log?.warn({ err: error }, 'unique violation answered as ALREADY_EXISTS');
    billingError = alreadyExists();
  } else {
    req.log?.error({ err: error }, 'unhandled error');
    billingError = new BillingError('INTERNAL', 'Internal error. The request id identifies it in the logs.');
  }
  // An outage is logged once by platform/dependency-health.ts, not per request.
  if (billingError.httpStatus >= 500 && billingError.code !== 'INTERNAL' && !(billingError instanceof DependencyUnavailableError)) req.log?.warn({ err: error }, billingError.message);
  // A refusal that names a wait (an outage, a refill on its way) says it as Retry-After, as gRPC's RetryInfo does.
  if (billingError.code === 'SERVICE_UNAVAILABLE' || typeof billingError.details?.retryAfterSeconds === 'number') res.setHeader('Retry-After', retryAfterHeader(billingError));
  res.status(billingError.httpStatus).json(envelope(billingError));
};

/** The answer to a unique violation that escaped its code path (see errorHandler). */
function alreadyExists(): BillingError {
  return new BillingError('ALREADY_EXISTS', 'A concurrent request created the same thing first; read it, or retry with the key that created it.');
}

/** What http-errors (body-parser, raw-body, router, send) put on the errors they raise. */
interface HttpStackError {
  status?: number;
  statusCode?: number;
  type?: string;
  message: string;
}

/** The 4xx status an error from the HTTP stack carries, if it carries one. */
function clientErrorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode } = error as HttpStackError;
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' && Number.isInteger(value) && value >= 400 && value < 500 ? value : undefined;
}

/** The envelope for an HTTP-stack error: a stable code where one fits its status, else REQUEST_REJECTED with the status kept. */
function fromHttpStackError(error: HttpStackError): BillingError {
  const status = clientErrorStatus(error)!;
  switch (status) {
    case 400:
      return new BillingError(
        'VALIDATION_FAILED',
        error.type === 'entity.parse.failed' ? 'Request body is not valid JSON.' : `Malformed request: ${error.message}`,
      );
    case 404:
      return new BillingError('NOT_FOUND', 'Not found.');
    case 413:
      return new BillingError('PAYLOAD_TOO_LARGE', 'Request body is too large.');
    case 415:
      return new BillingError('UNSUPPORTED_MEDIA_TYPE', `Unsupported request body: ${error.message}`);
    case 431:
      return new BillingError('HEADERS_TOO_LARGE', 'Request headers are too large.');
    default:
      return new BillingError('REQUEST_REJECTED', error.message, undefined, status);
  }
}
