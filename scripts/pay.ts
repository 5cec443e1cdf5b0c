/**
 * `npm run pay -- <orderId>`: completes a Stripe order in dev like `stripe trigger` would, by posting
 * a checkout.session.completed event for it, signed with STRIPE_WEBHOOK_SECRET, to the API's webhook.
 * API_URL (default http://127.0.0.1:3000); the order's amount and currency come from the service API.
 */
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';

async function main(): Promise<void> {
  const orderId = process.argv[2];
  if (!orderId) throw new Error('usage: npm run pay -- <orderId>');
  const api = (process.env.API_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
  const serviceKey = (process.env.SERVICE_API_KEYS ?? 'dev-service-key-change-me').split(',')[0]!.trim();
  const secret = process.env.STRIPE_WEBHOOK_SECRET ?? 'whsec_dev_change-me';
  const orderResponse = await fetch(`${api}/v1/internal/orders/${orderId}`, { headers: { authorization: `Bearer ${serviceKey}` } });
  if (!orderResponse.ok) throw new Error(`order ${orderId}: ${orderResponse.status} ${await orderResponse.text()}`);
  const order = (await orderResponse.json()) as { amountMinor: number; currency: string; userId: string };
  const payload = JSON.stringify(checkoutCompletedEvent(orderId, order.amountMinor, order.currency));
  const signature = new Stripe('sk_test_unused').webhooks.generateTestHeaderString({ payload, secret });
  const response = await fetch(`${api}/v1/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body: payload });
  process.stdout.write(`${response.status} ${await response.text()}\n`);
  if (!response.ok) process.exitCode = 1;
}

export function checkoutCompletedEvent(orderId: string, amountMinor: number, currency: string, paymentIntent = `pi_${orderId.replace(/-/g, '')}`) {
  return {
    id: `evt_${randomUUID().replace(/-/g, '')}`,
    object: 'event',
    type: 'checkout.session.completed',
    created: Math.floor(Date.now() / 1000),
    data: {
      object: {
        id: `cs_test_${orderId.replace(/-/g, '')}`,
        object: 'checkout.session',
        client_reference_id: orderId,
        metadata: { orderId },
        payment_intent: paymentIntent,
        payment_status: 'paid',
        amount_total: amountMinor,
        currency: currency.toLowerCase(),
      },
    },
  };
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  });
}
