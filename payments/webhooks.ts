/**
 * Incoming payment notifications: verify (Stripe-Signature on the raw body; the gateway's HMAC),
 * store each event once by its id, and turn it into a payment signal for the order workflow. The
 * stored event makes a redelivery a no-op once its signal got through; one that did not get through
 * (Temporal unreachable: 503) is signalled again when the sender retries.
 */
import type Stripe from 'stripe';
import { BillingError } from '../domain/errors';
import { hasValidSignature, type GatewayParams } from '../domain/gateway-signature';
import type { Database } from '../infra/database';
import type { Prisma } from '../generated/prisma/client';
import type { PaymentSignal } from '../workflows/order-contract';
import { channelConfig } from './channels';
import type { PaymentsDeps } from './deps';

/** What a verified event asks of an order. */
export interface WebhookDelivery {
  provider: string;
  eventId: string;
  type: string;
  orderId: string | null;
  payload: unknown;
  /** null: nothing to signal (unknown type, recorded only, or no order). */
  payment: PaymentSignal | null;
}

export function verifyStripeEvent(deps: PaymentsDeps, rawBody: Buffer, signature: string | undefined): Stripe.Event {
  if (!signature) throw new BillingError('WEBHOOK_SIGNATURE_INVALID', 'Missing Stripe-Signature header.');
  try {
    // Rejects a forged signature and one older than the SDK's 5-minute tolerance (a replay).
    return deps.stripe.webhooks.constructEvent(rawBody, signature, deps.stripeWebhookSecret);
  } catch (error) {
    throw new BillingError('WEBHOOK_SIGNATURE_INVALID', `Stripe signature rejected: ${(error as Error).message}`);
  }
}

/** Maps a Stripe event to its delivery: fulfil on paid sessions and async success, fail on async failure. */
export function stripeDelivery(event: Stripe.Event): WebhookDelivery {
  const base = { provider: 'stripe', eventId: event.id, type: event.type, payload: event as unknown };
  const session = event.type.startsWith('checkout.session.') ? (event.data.object as Stripe.Checkout.Session) : null;
  const orderId = session ? (session.metadata?.orderId ?? session.client_reference_id ?? null) : chargeOrderId(event);
  const payment = (outcome: PaymentSignal['outcome']): PaymentSignal => ({
    outcome,
    source: 'stripe',
    externalId: typeof session!.payment_intent === 'string' ? session!.payment_intent : (session!.payment_intent?.id ?? session!.id),
    amountMinor: session!.amount_total ?? 0,
    currency: (session!.currency ?? '').toUpperCase(),
    actor: 'stripe',
    eventId: event.id,
  });
  switch (event.type) {
    case 'checkout.session.completed':
      return { ...base, orderId, payment: session!.payment_status === 'paid' ? payment('succeeded') : null };
    case 'checkout.session.async_payment_succeeded':
      return { ...base, orderId, payment: payment('succeeded') };
    case 'checkout.session.async_payment_failed':
      return { ...base, orderId, payment: payment('failed') };
    default:
      // charge.refunded is recorded (our refunds start here, so it is a confirmation); others are ignored.
      return { ...base, orderId, payment: null };
  }
}

function chargeOrderId(event: Stripe.Event): string | null {
  const object = event.data.object as { metadata?: Record<string, string> | null };
  return object.metadata?.orderId ?? null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How far a gateway callback's timestamp may be from now (seconds): older ones are replays. */
export const GATEWAY_TOLERANCE_SECONDS = 300;

/** Verifies a gateway callback: signature, freshness, and that order, amount and currency match. */
export async function verifyGatewayCallback(db: Database, channelCode: string, params: GatewayParams): Promise<WebhookDelivery> {
  const channel = await db.paymentChannel.findUnique({ where: { code: channelCode } });
  if (!channel || channel.kind !== 'gateway') throw new BillingError('NOT_FOUND', `No gateway channel "${channelCode}".`, { channel: channelCode });
  const config = channelConfig(channel as typeof channel & { kind: 'gateway' });
  if (!hasValidSignature(params, config.secret)) throw new BillingError('WEBHOOK_SIGNATURE_INVALID', 'Gateway signature rejected.');
  const timestamp = Number(params.timestamp);
  if (!Number.isFinite(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > GATEWAY_TOLERANCE_SECONDS) {
    throw new BillingError('WEBHOOK_SIGNATURE_INVALID', 'Gateway callback timestamp is missing or stale.');
  }
  const orderId = params.out_trade_no ?? '';
  const order = UUID.test(orderId) ? await db.order.findUnique({ where: { id: orderId } }) : null;
  if (!order || order.channelId !== channel.id || params.merchant_id !== config.merchantId) {
    throw new BillingError('PAYMENT_MISMATCH', 'The callback names no order of this channel.', { out_trade_no: orderId });
  }
  if (params.amount !== String(order.amountMinor) || params.currency !== order.currency) {
    throw new BillingError('PAYMENT_MISMATCH', 'Amount or currency differ from the order.', {
      expected: { amount: String(order.amountMinor), currency: order.currency },
      received: { amount: params.amount ?? null, currency: params.currency ?? null },
    });
  }
  const tradeNo = params.trade_no ?? '';
  if (!tradeNo) throw new BillingError('PAYMENT_MISMATCH', 'trade_no is missing.');
  const succeeded = params.status === 'success';
  return {
    provider: `gateway:${channelCode}`,
    eventId: `${tradeNo}:${params.status ?? ''}`,
    type: `payment.${params.status ?? 'unknown'}`,
    orderId: order.id,
    payload: params,
    payment: {
      outcome: succeeded ? 'succeeded' : 'failed',
      source: 'gateway',
      externalId: tradeNo,
      amountMinor: order.amountMinor,
      currency: order.currency,
      actor: `gateway:${channelCode}`,
      eventId: tradeNo,
    },
  };
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
