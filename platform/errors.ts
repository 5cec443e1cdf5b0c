/**
 * Stable error codes of the public API. Clients branch on `code`; messages may change.
 * Pure module (no I/O): imported by the API, the credit engine and workflows alike.
 */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  IDEMPOTENCY_KEY_REQUIRED: 400,
  /** The HTTP layer refused the request before any route saw it; the status is the one it chose (400 unless said). */
  REQUEST_REJECTED: 400,
  UNAUTHENTICATED: 401,
  INSUFFICIENT_CREDITS: 402,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  IDEMPOTENCY_KEY_REUSED: 409,
  ALREADY_EXISTS: 409,
  RESERVATION_NOT_HELD: 409,
  REFUND_EXCEEDS_CONSUMPTION: 409,
  ACTION_DISABLED: 422,
  PACKAGE_UNAVAILABLE: 422,
  HOLD_LIMIT_EXCEEDED: 422,
  GRANT_ALREADY_EXPIRED: 422,
  COMMIT_EXCEEDS_HOLD: 422,
  // orders and payments
  WEBHOOK_SIGNATURE_INVALID: 400,
  PAYMENT_MISMATCH: 400,
  ALREADY_OWNED: 409,
  ORDER_STATE_CONFLICT: 409,
  REFUND_EXCEEDS_PAYMENT: 409,
  PACKAGE_STATE_CONFLICT: 409, // lifecycle: the package is no longer live (expired, revoked)
  CHANNEL_UNAVAILABLE: 422,
  PAYMENT_PROVIDER_ERROR: 502,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HEADERS_TOO_LARGE: 431,
  // commerce: coupons (details.reason: a COUPON_* code from modules/coupons/rules/discount.ts), currencies, re-drive
  COUPON_NOT_APPLICABLE: 422,
  CURRENCY_NOT_SUPPORTED: 422,
  MISMATCH_NOT_REDRIVABLE: 409,
  // top-ups: a monthly amount cap below the price of one purchase of the rule's package
  TOP_UP_CAP_TOO_LOW: 422,
  // saved payment methods: a rule names one that is not the user's saved method; removing one an active rule charges
  PAYMENT_METHOD_UNAVAILABLE: 422,
  PAYMENT_METHOD_IN_USE: 409,
  // top-ups: a manual top-up the rule's monthly caps have no room for; a purchase with no usable saved method
  TOP_UP_CAP_REACHED: 409,
  PAYMENT_METHOD_REQUIRED: 422,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class BillingError extends Error {
  readonly httpStatus: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Only for REQUEST_REJECTED: the 4xx status the HTTP layer chose (e.g. 416 for a bad Range). */
    httpStatus?: number,
  ) {
    super(message);
    this.name = 'BillingError';
    this.httpStatus = httpStatus ?? ERROR_STATUS[code];
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_STATUS, value);
}
