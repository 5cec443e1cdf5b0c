/**
 * The order workflows' public contract: ids, inputs, signals, update and queries. Shared by the API
 * (client side) and the workflows; workflow-safe (no I/O imports).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OrderProgress } from '../modules/orders/shapes';

export const orderWorkflowId = (orderId: string): string => `order-${orderId}`;
export const orderRefundWorkflowId = (refundId: string): string => `order-refund-${refundId}`;

export interface OrderWorkflowInput {
  orderId: string;
  userId: string;
  /** Attempts per provisioning step before the saga compensates (default 8). */
  maxStepAttempts?: number;
  /** First wait between attempts of a step; doubles up to 30 s (default 1 s). */
  retryBaseMs?: number;
}

/** A confirmed (or failed) payment, from a webhook or an admin's mark-paid. */
export interface PaymentSignal {
  outcome: 'succeeded' | 'failed';
  source: 'stripe' | 'gateway' | 'manual';
  /** The provider's payment id (Stripe payment intent, gateway trade no); `manual` for mark-paid. */
  externalId: string;
  amountMinor: number;
  currency: string;
  actor: string;
  note?: string | null;
  /** The provider event that carried it, for the progress log. */
  eventId: string;
}

export interface PaymentSessionView {
  paymentUrl: string | null;
  paymentReference: string | null;
}

export interface OrderRefundWorkflowInput {
  refundId: string;
  orderId: string;
}

export const paymentSignal = defineSignal<[PaymentSignal]>('payment');
export const cancelSignal = defineSignal<[]>('cancel');
/** Answers once the payment session exists (or the order is no longer payable). */
export const paymentSessionUpdate = defineUpdate<PaymentSessionView, []>('paymentSession');
export const progressQuery = defineQuery<OrderProgress>('progress');
