/**
 * Incoming payment notifications: verify (Stripe-Signature on the raw body; the gateway's HMAC), then
 * read (modules/payments/webhook-events.ts: zod schemas, only once the signature verified), store each event
 * once by its id, and turn it into a payment signal for the order workflow. The stored event makes a
 * redelivery a no-op once its signal got through; one that did not get through (Temporal unreachable:
 * 503) is signalled again when the sender retries.
 */
import { BillingError } from '../../platform/errors';
import { hasValidSignature, looksSigned, type GatewayParams } from './rules/gateway-signature';
import type { Database } from '../../platform/database';
import type { PaymentChannel, Prisma } from '../../generated/prisma/client';
import type { PaymentSignal } from '../../workflows/order-contract';
import { channelConfig } from './channels';
import type { PaymentsDeps } from './deps';
import {
  checkoutSessionSchema,
  gatewayCallbackSchema,
  isHandledStripeType,
  namedOrderId,
  readOrRefuse,
  refuseUnstorable,
  stripeEventSchema,
  type CheckoutSession,
  type StripeEvent,
} from './webhook-events';

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

/** Throws WEBHOOK_SIGNATURE_INVALID unless Stripe-Signature signs these exact bytes, recently. */
export function verifyStripeSignature(deps: PaymentsDeps, rawBody: Buffer, signature: string | undefined): void {
  if (!signature) throw new BillingError('WEBHOOK_SIGNATURE_INVALID', 'Missing Stripe-Signature header.');
  const verifier = deps.stripe.webhooks.signature;
  if (!verifier) throw new Error('the Stripe SDK has no signature verifier');
  try {
    // Rejects a forged signature and one older than the SDK's 5-minute tolerance (a replay).
    verifier.verifyHeader(rawBody, signature, deps.stripeWebhookSecret);
  } catch (error) {
    throw new BillingError('WEBHOOK_SIGNATURE_INVALID', `Stripe signature rejected: ${(error as Error).message}`);
  }
}

/**
 * Reads a verified Stripe body: fulfil on paid sessions and async success, fail on async failure,
 * record every other type. Throws VALIDATION_FAILED for a body that is not an event, or a handled
 * type whose session cannot be read (acknowledging it would lose a payment without a trace).
 */
export function stripeDelivery(rawBody: Buffer): WebhookDelivery {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new BillingError('VALIDATION_FAILED', 'The Stripe event is not valid JSON.', { issues: [{ path: 'body', message: 'invalid JSON' }] });
  }
  const event = readOrRefuse(stripeEventSchema, body, 'The Stripe event');
  refuseUnstorable(body, 'The Stripe event');
  const base = { provider: 'stripe', eventId: event.id, type: event.type, payload: body };
  if (!isHandledStripeType(event.type)) {
    // charge.refunded is recorded (our refunds start here, so it is a confirmation); others are ignored.
    return { ...base, orderId: namedOrderId(event.data.object), payment: null };
  }
  const session = readOrRefuse(checkoutSessionSchema, event.data.object, 'The checkout session', ['data', 'object']);
  const orderId = session.metadata?.orderId ?? session.client_reference_id ?? null;
  switch (event.type) {
    case 'checkout.session.completed':
      return { ...base, orderId, payment: session.payment_status === 'paid' ? sessionPayment(event, session, 'succeeded') : null };
    case 'checkout.session.async_payment_succeeded':
      return { ...base, orderId, payment: sessionPayment(event, session, 'succeeded') };
    case 'checkout.session.async_payment_failed':
      return { ...base, orderId, payment: sessionPayment(event, session, 'failed') };
  }
}

function sessionPayment(event: StripeEvent, session: CheckoutSession, outcome: PaymentSignal['outcome']): PaymentSignal {
  const paymentIntent = session.payment_intent;
  return {
    outcome,
    source: 'stripe',
    externalId: typeof paymentIntent === 'string' ? paymentIntent : (paymentIntent?.id ?? session.id),
    amountMinor: session.amount_total,
    currency: session.currency.toUpperCase(),
    actor: 'stripe',
    eventId: event.id,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How far a gateway callback's timestamp may be from now (seconds): older ones are replays. */
const GATEWAY_TOLERANCE_SECONDS = 300;

type GatewayChannel = PaymentChannel & { kind: 'gateway' };

/**
 * Verifies a gateway callback's signature and answers its channel. A callback without a well-formed
 * `sign` is refused before the database is asked for the channel's secret.
 */
export async function verifyGatewaySignature(db: Database, channelCode: string, params: GatewayParams): Promise<GatewayChannel> {
  if (!looksSigned(params)) throw new BillingError('WEBHOOK_SIGNATURE_INVALID', 'Gateway callback without a signature.');
  const channel = await db.paymentChannel.findUnique({ where: { code: channelCode } });
  if (!channel || channel.kind !== 'gateway') throw new BillingError('NOT_FOUND', `No gateway channel "${channelCode}".`, { channel: channelCode });
  if (!hasValidSignature(params, channelConfig(channel as GatewayChannel).secret)) throw new BillingError('WEBHOOK_SIGNATURE_INVALID', 'Gateway signature rejected.');
  return channel as GatewayChannel;
}

/**
 * Reads a verified callback: fresh, naming an order of this channel with its amount and currency.
 * `success` pays, `failed` fails; another status is recorded and acknowledged (a gateway may report
 * intermediate states), never taken for a failure.
 */
export async function gatewayDelivery(db: Database, channel: GatewayChannel, params: GatewayParams): Promise<WebhookDelivery> {
  const callback = readOrRefuse(gatewayCallbackSchema, params, 'The callback');
  if (Math.abs(Date.now() / 1000 - Number(callback.timestamp)) > GATEWAY_TOLERANCE_SECONDS) {
    throw new BillingError('WEBHOOK_SIGNATURE_INVALID', 'Gateway callback timestamp is stale.');
  }
  const config = channelConfig(channel);
  const order = UUID.test(callback.out_trade_no) ? await db.order.findUnique({ where: { id: callback.out_trade_no } }) : null;
  if (!order || order.channelId !== channel.id || callback.merchant_id !== config.merchantId) {
    throw new BillingError('PAYMENT_MISMATCH', 'The callback names no order of this channel.', { out_trade_no: callback.out_trade_no });
  }
  if (callback.amount !== String(order.amountMinor) || callback.currency !== order.currency) {
    throw new BillingError('PAYMENT_MISMATCH', 'Amount or currency differ from the order.', {
      expected: { amount: String(order.amountMinor), currency: order.currency },
      received: { amount: callback.amount, currency: callback.currency },
    });
  }
  const outcome = callback.status === 'success' ? 'succeeded' : callback.status === 'failed' ? 'failed' : null;
  return {
    provider: `gateway:${channel.code}`,
    eventId: `${callback.trade_no}:${callback.status}`,
    type: `payment.${callback.status}`,
    orderId: order.id,
    payload: params,
    payment: outcome && {
      outcome,
      source: 'gateway',
      externalId: callback.trade_no,
      amountMinor: order.amountMinor,
      currency: order.currency,
      actor: `gateway:${channel.code}`,
      eventId: callback.trade_no,
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
