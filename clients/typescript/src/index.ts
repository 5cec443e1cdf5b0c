/** The durable-billing TypeScript SDK: see clients/typescript/README.md. */
export { createBillingClient, type Answer, type BillingClient, type BillingClientOptions, type BillingPaths, type Call, type Schemas } from './client';
export { BillingApiError, billingApiErrorOf, type BillingErrorCode } from './errors';
export { paginate, type ItemOf, type ListPath } from './pagination';
export { withReservation, type CommitResult, type Reservation, type ReservationOptions, type ReservationOutcome, type ReservationRequest, type UsedUnits } from './reservations';
export { retryAfterMs, type RetryOptions } from './retry';
export { verifyWebhook, WebhookVerificationError, type WebhookEvent } from './webhooks';
export type { components, paths, webhooks } from './schema';
