/** Helpers for the order tests: packages to buy, signed Stripe events, waiting for an order's status. */
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { createPackage, expectStatus } from './fixtures';
import { STRIPE_WEBHOOK_SECRET, type TestStack } from './stack';

const signer = new Stripe('sk_test_unused');

export async function buyablePackage(stack: TestStack, fields: Record<string, unknown> = {}) {
  return createPackage(stack, { creditsAmount: 100, durationDays: 30, priceMinor: 1000, currency: 'USD', ...fields });
}

export async function placeOrder(stack: TestStack, userId: string, packageCode: string, channel = 'stripe') {
  return expectStatus(await stack.call('POST', '/v1/me/orders', { as: { user: userId }, body: { packageCode, channel } }), 201, 'place order');
}

export function sessionEvent(
  type: 'checkout.session.completed' | 'checkout.session.async_payment_succeeded' | 'checkout.session.async_payment_failed',
  order: { id: string; amountMinor: number; currency: string },
  overrides: { paymentStatus?: string; paymentIntent?: string; eventId?: string } = {},
) {
  return {
    id: overrides.eventId ?? `evt_${randomUUID().replace(/-/g, '')}`,
    object: 'event',
    type,
    created: Math.floor(Date.now() / 1000),
    data: {
      object: {
        id: `cs_test_${order.id.replace(/-/g, '')}`,
        object: 'checkout.session',
        client_reference_id: order.id,
        metadata: { orderId: order.id },
        payment_intent: overrides.paymentIntent ?? `pi_${order.id.replace(/-/g, '')}`,
        payment_status: overrides.paymentStatus ?? 'paid',
        amount_total: order.amountMinor,
        currency: order.currency.toLowerCase(),
      },
    },
  };
}

export function postStripeEvent(stack: TestStack, event: unknown, options: { secret?: string; timestamp?: number } = {}) {
  const payload = JSON.stringify(event);
  const signature = signer.webhooks.generateTestHeaderString({ payload, secret: options.secret ?? STRIPE_WEBHOOK_SECRET, timestamp: options.timestamp });
  return stack.call('POST', '/v1/webhooks/stripe', { as: 'anonymous', rawBody: payload, idempotencyKey: null, headers: { 'stripe-signature': signature } });
}

export async function waitForOrder(stack: TestStack, orderId: string, statuses: string[], timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const order = await stack.db.order.findUniqueOrThrow({ where: { id: orderId } });
    if (statuses.includes(order.status)) return order;
    if (Date.now() > deadline) throw new Error(`order ${orderId} is ${order.status}, not ${statuses.join('|')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the order's workflow run (the latest) has closed, so nothing more can change. */
export async function waitForRunToClose(stack: TestStack, workflowId: string): Promise<void> {
  await stack.temporal.workflow.getHandle(workflowId).result().catch(() => undefined);
}

export async function provisionedState(stack: TestStack, orderId: string) {
  const [periods, payments, grants] = await Promise.all([
    stack.db.subscriptionPeriod.count({ where: { orderId } }),
    stack.db.orderPayment.count({ where: { orderId } }),
    stack.db.userPackage.count({ where: { note: `order ${orderId}` } }),
  ]);
  return { periods, payments, grants };
}

/** Registers a `gateway` payment channel (USD) that points at a running gateway simulator. */
export async function createGatewayChannel(
  stack: TestStack,
  channel: { code: string; name: string; gatewayUrl: string; merchantId: string; secret: string },
): Promise<void> {
  const { code, name, ...config } = channel;
  expectStatus(
    await stack.call('POST', '/v1/admin/payment-channels', { as: 'admin', body: { code, kind: 'gateway', name, currencies: ['USD'], config } }),
    201,
    'create gateway channel',
  );
}
