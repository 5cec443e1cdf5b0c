/**
 * The order state machine and the rule for a payment that arrives in any state (late, duplicate).
 * Pure (no I/O): used by the order storage (guards on every status change) and the order workflow.
 */
export const ORDER_STATUSES = [
  'pending_payment',
  'paid',
  'provisioning',
  'completed',
  'cancelled',
  'expired',
  'failed',
  'refunded',
  'partially_refunded',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/**
 * Allowed moves. `cancelled`, `expired` and `failed` may still become `paid`: a payment that arrives
 * after the order closed unpaid is provisioned if that is still possible, otherwise refunded (the
 * late-payment rule, docs/architecture.md "Orders"). A payment that cannot be provisioned (refused,
 * or provisioning failed for good) goes back to the payer, and the order closes `refunded` from
 * `paid` or `provisioning` once the provider has given it back; `failed` when it could not.
 */
const TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending_payment: ['paid', 'cancelled', 'expired', 'failed'],
  paid: ['provisioning', 'failed', 'refunded'],
  provisioning: ['completed', 'failed', 'refunded'],
  completed: ['partially_refunded', 'refunded'],
  partially_refunded: ['partially_refunded', 'refunded'],
  cancelled: ['paid'],
  expired: ['paid'],
  failed: ['paid'],
  refunded: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Statuses from which `to` may be reached: the WHERE clause of a guarded status update. */
export function statusesLeadingTo(to: OrderStatus): OrderStatus[] {
  return ORDER_STATUSES.filter((from) => canTransition(from, to));
}

export type PaymentDecision =
  /** First confirmed payment of the order: record it and provision (if provisioning fails, refund). */
  | 'provision'
  /** The same payment again (another event for it, a retry): nothing to do. */
  | 'already_recorded'
  /** A second, different payment for an order that is already paid: give it back. */
  | 'refund_duplicate';

/**
 * What to do with a confirmed payment. `recordedExternalId` is the payment already recorded on the
 * order, if any. The order's status does not matter for the first payment: a late payment after
 * expiry or cancellation is provisioned like any other, and the saga refunds it if provisioning
 * refuses it (e.g. the user holds the permanent package by now).
 */
export function decidePayment(recordedExternalId: string | null, externalId: string): PaymentDecision {
  if (recordedExternalId === null) return 'provision';
  return recordedExternalId === externalId ? 'already_recorded' : 'refund_duplicate';
}

/** The status after refunds totalling `refundedMinor` of an order of `amountMinor`. */
export function statusAfterRefund(amountMinor: number, refundedMinor: number): 'refunded' | 'partially_refunded' {
  return refundedMinor >= amountMinor ? 'refunded' : 'partially_refunded';
}
