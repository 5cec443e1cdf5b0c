/**
 * Stripe: Checkout Sessions to pay, the Refunds API to give back, PaymentIntents and Refunds lists to
 * reconcile, Stripe-Signature to verify events. Every call carries an idempotency key, so a retried
 * activity never charges or refunds twice. The keys come from the environment, not the channel.
 */
import Stripe from 'stripe';
import { BillingError } from '../../../platform/errors';
import type { Order, PaymentChannel } from '../../../generated/prisma/client';
import type { PaymentsDeps } from '../deps';
import type { PaymentSignal } from '../../../workflows/order-contract';
import type { WebhookDelivery } from '../webhooks';
import {
  checkoutSessionSchema,
  isHandledStripeType,
  namedOrderId,
  readOrRefuse,
  referenceId,
  refuseUnstorable,
  setupIntentSchema,
  setupSessionSchema,
  stripeEventSchema,
  type CheckoutSession,
  type StripeEvent,
} from '../webhook-events';
import type { PaymentProvider, ProviderPaymentRecord } from './provider';
import { stripeSavedMethods } from './stripe-saved-methods';
import { stripeSettings } from './stripe-settings';


/** A period can hold at most this many records per list; more would need a narrower period. */
const MAX_RECORDS = 10_000;

/** Stripe answers 4xx for a request that can never succeed: a refusal, not something to retry. */
function stripeRefusal(error: unknown): never {
  if (error instanceof Stripe.errors.StripeInvalidRequestError || error instanceof Stripe.errors.StripeCardError) {
    throw new BillingError('PAYMENT_PROVIDER_ERROR', `Stripe refused: ${error.message}`, { stripeCode: error.code ?? null });
  }
  throw error;
}

/**
 * The PaymentIntents created in the period and the refunds made in it (`metadata.orderId` names our
 * order; Checkout sets it via payment_intent_data).
 */
async function stripeRecords(deps: PaymentsDeps, _channel: PaymentChannel, from: Date, to: Date): Promise<ProviderPaymentRecord[]> {
  const created = { gte: Math.floor(from.getTime() / 1000), lt: Math.floor(to.getTime() / 1000) };
  const intents = await deps.stripe.paymentIntents.list({ created, limit: 100 }).autoPagingToArray({ limit: MAX_RECORDS });
  const refunds = await deps.stripe.refunds.list({ created, limit: 100 }).autoPagingToArray({ limit: MAX_RECORDS });
  const refundedByIntent = new Map<string, number>();
  for (const refund of refunds) {
    if (refund.status === 'failed' || refund.status === 'canceled') continue;
    const intent = typeof refund.payment_intent === 'string' ? refund.payment_intent : (refund.payment_intent?.id ?? null);
    if (intent) refundedByIntent.set(intent, (refundedByIntent.get(intent) ?? 0) + refund.amount);
  }
  const records: ProviderPaymentRecord[] = intents.map((intent) => ({
    orderId: intent.metadata?.orderId ?? null,
    externalId: intent.id,
    amountMinor: intent.amount_received || intent.amount,
    currency: intent.currency.toUpperCase(),
    succeeded: intent.status === 'succeeded',
    refundedMinor: refundedByIntent.get(intent.id) ?? 0,
  }));
  // A refund of a payment outside the period's intents: only the gateway knows it here.
  const known = new Set(intents.map((intent) => intent.id));
  for (const [intent, amount] of refundedByIntent) {
    if (!known.has(intent)) records.push({ orderId: null, externalId: intent, amountMinor: 0, currency: '', succeeded: true, refundedMinor: amount });
  }
  return records;
}

/** Throws WEBHOOK_SIGNATURE_INVALID unless Stripe-Signature signs these exact bytes, recently. */
function verifyStripeSignature(deps: PaymentsDeps, rawBody: Buffer, signature: string | undefined): void {
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
function stripeDelivery(rawBody: Buffer): WebhookDelivery {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new BillingError('VALIDATION_FAILED', 'The Stripe event is not valid JSON.', { issues: [{ path: 'body', message: 'invalid JSON' }] });
  }
  const event = readOrRefuse(stripeEventSchema, body, 'The Stripe event');
  refuseUnstorable(body, 'The Stripe event');
  const base = { provider: 'stripe', eventId: event.id, type: event.type, payload: body };
  // A saved payment method: recorded, and handed on as a setup (no order, no payment). A setup-mode
  // session carries no amount, so it is read before the payment schema would refuse it.
  if (event.type === 'setup_intent.succeeded') {
    const intent = readOrRefuse(setupIntentSchema, event.data.object, 'The setup intent', ['data', 'object']);
    const setup = { setupIntentRef: intent.id, customerRef: referenceId(intent.customer), paymentMethodRef: referenceId(intent.payment_method), channel: intent.metadata?.channel ?? null };
    return { ...base, orderId: null, payment: null, setup };
  }
  if (event.type === 'checkout.session.completed' && event.data.object['mode'] === 'setup') {
    const session = readOrRefuse(setupSessionSchema, event.data.object, 'The setup session', ['data', 'object']);
    const setupIntentRef = referenceId(session.setup_intent);
    const setup = setupIntentRef ? { setupIntentRef, customerRef: referenceId(session.customer), paymentMethodRef: null, channel: session.metadata?.channel ?? null } : undefined;
    return { ...base, orderId: null, payment: null, setup };
  }
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

/**
 * The Checkout Session's lines add up to the order's amount (its total). With tax added on top
 * (`exclusive`, fixed at placement), the package is one line at the subtotal and the tax another, so
 * Stripe's page and receipt show both; otherwise one line at the amount.
 */
export function checkoutLineItems(order: Order): Stripe.Checkout.SessionCreateParams.LineItem[] {
  const currency = order.currency.toLowerCase();
  const line = (name: string, amount: number) => ({ quantity: 1, price_data: { currency, unit_amount: amount, product_data: { name } } });
  if (order.taxMode === 'exclusive' && order.subtotalMinor !== null && order.taxMinor !== null && order.taxMinor > 0) {
    return [line(order.packageName, order.subtotalMinor), line(`Tax ${(order.taxRateBasisPoints ?? 0) / 100} %`, order.taxMinor)];
  }
  return [line(order.packageName, order.amountMinor)];
}

export const stripeProvider: PaymentProvider = {
  configSchema: stripeSettings,
  secretFields: [],

  async startPayment(deps, order, channel) {
    const settings = stripeSettings.parse(channel.config);
    const session = await deps.stripe.checkout.sessions
      .create(
        {
          mode: 'payment',
          client_reference_id: order.id,
          metadata: { orderId: order.id, userId: order.userId },
          payment_intent_data: { metadata: { orderId: order.id } },
          line_items: checkoutLineItems(order),
          success_url: settings.successUrl ?? `${deps.publicBaseUrl}/orders/${order.id}/paid`,
          cancel_url: settings.cancelUrl ?? `${deps.publicBaseUrl}/orders/${order.id}/cancelled`,
        },
        { idempotencyKey: `order-${order.id}-checkout` },
      )
      .catch(stripeRefusal);
    return { reference: session.id, url: session.url };
  },

  async closePayment(deps, order) {
    if (!order.paymentReference) return;
    await deps.stripe.checkout.sessions.expire(order.paymentReference, {}, { idempotencyKey: `order-${order.id}-expire` }).catch(() => undefined);
  },

  async refund(deps, _channel, payment, amountMinor, refundKey) {
    const refund = await deps.stripe.refunds
      .create(
        { payment_intent: payment.externalId, amount: amountMinor, metadata: { orderId: payment.orderId, refundKey } },
        { idempotencyKey: `refund-${refundKey}` },
      )
      .catch(stripeRefusal);
    return refund.id;
  },

  listPayments: stripeRecords,

  // One endpoint for the account, not per channel: Stripe-Signature is checked before any database work.
  verifyWebhook: async (deps, _db, request) => {
    verifyStripeSignature(deps, request.rawBody, request.header('stripe-signature'));
    return async () => stripeDelivery(request.rawBody);
  },

  savedMethods: stripeSavedMethods,
};
