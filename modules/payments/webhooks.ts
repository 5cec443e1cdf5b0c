/**
 * Incoming payment notifications: each provider verifies and reads its own (providers/<kind>.ts,
 * `verifyWebhook`; the zod schemas in modules/payments/webhook-events.ts, applied only once the
 * signature verified) into a WebhookDelivery; this file stores each event
 * once by its id, so it becomes at most one payment signal for the order workflow. The stored event makes a
 * redelivery a no-op once its signal got through; one that did not get through (Temporal unreachable:
 * 503) is signalled again when the sender retries.
 */
import type { Database } from '../../platform/database';
import type { Prisma } from '../../generated/prisma/client';
import type { PaymentSignal } from '../../workflows/order-contract';
import type { StripeSetup } from './providers/stripe-saved-methods';

/** What a verified event asks of an order. */
export interface WebhookDelivery {
  provider: string;
  eventId: string;
  type: string;
  orderId: string | null;
  payload: unknown;
  /** null: nothing to signal (unknown type, recorded only, or no order). */
  payment: PaymentSignal | null;
  /** A completed Stripe setup (a payment method saved for off-session charges), for modules/topups to keep. */
  setup?: StripeSetup | undefined;
}

/**
 * Stores the event once. Answers whether a signal is still owed: false when the event was stored
 * before and its signal already went through (a redelivery).
 */
export async function storeEvent(db: Database, delivery: WebhookDelivery): Promise<{ signalOwed: boolean }> {
  const inserted = await db.$executeRaw`
    INSERT INTO payment_events (provider, event_id, type, order_id, payload)
    VALUES (${delivery.provider}, ${delivery.eventId}, ${delivery.type}, ${delivery.orderId}::uuid, ${JSON.stringify(delivery.payload)}::jsonb)
    ON CONFLICT DO NOTHING`;
  if (inserted === 1) return { signalOwed: true };
  const stored = await db.paymentEvent.findUniqueOrThrow({ where: { provider_eventId: { provider: delivery.provider, eventId: delivery.eventId } } });
  return { signalOwed: stored.signalledAt === null };
}

export async function markSignalled(db: Database, delivery: WebhookDelivery): Promise<void> {
  await db.paymentEvent.update({
    where: { provider_eventId: { provider: delivery.provider, eventId: delivery.eventId } },
    data: { signalledAt: new Date() } satisfies Prisma.PaymentEventUpdateInput,
  });
}
