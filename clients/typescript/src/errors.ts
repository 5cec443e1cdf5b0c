import type { components } from './schema';

/** The API's stable error codes (docs/api.md, "Errors"), as the OpenAPI document lists them. */
export type BillingErrorCode = components['schemas']['Error']['error']['code'];

/**
 * A refusal of the API, read from its one error envelope `{ error: { code, message, details } }`.
 * `code` is stable and what a caller branches on; `details` carries the code's fields (e.g.
 * `required` and `available` for INSUFFICIENT_CREDITS); `requestId` is the `x-request-id` to quote
 * when asking the operators about it.
 */
export class BillingApiError extends Error {
  override readonly name = 'BillingApiError';

  constructor(
    readonly status: number,
    /** A documented code, or `HTTP_<status>` when the answer carried no envelope (e.g. a proxy's page). */
    readonly code: BillingErrorCode | `HTTP_${number}`,
    message: string,
    readonly details: Record<string, unknown>,
    readonly requestId: string | null,
  ) {
    super(message);
  }

  /** True for refusals that mean "not now" (429, 503): the client already retried them as far as it was allowed. */
  get retryable(): boolean {
    return this.status === 429 || this.status === 503;
  }
}

/** The error a non-2xx answer stands for; `body` is what openapi-fetch parsed from it. */
export function billingApiErrorOf(response: Response, body: unknown): BillingApiError {
  const requestId = response.headers.get('x-request-id');
  const envelope = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (envelope && typeof envelope.code === 'string' && typeof envelope.message === 'string') {
    const details = typeof envelope.details === 'object' && envelope.details !== null ? (envelope.details as Record<string, unknown>) : {};
    return new BillingApiError(response.status, envelope.code as BillingErrorCode, envelope.message, details, requestId);
  }
  return new BillingApiError(response.status, `HTTP_${response.status}`, `The API answered ${response.status} ${response.statusText}`.trim(), {}, requestId);
}
