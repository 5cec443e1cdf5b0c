/**
 * Payment webhooks and the anonymous rate limit: a verified signature is the sender's credential, so
 * deliveries that verify are not counted against their address (Stripe sends a sale peak from a
 * handful of addresses), while requests without a valid signature count like any anonymous request
 * and are refused with 429 once the address is over its budget. Every request here comes from one
 * address (127.0.0.1); the window is an hour so the count cannot restart while the test runs.
 */
import Stripe from 'stripe';
import { withSignature } from '../modules/payments/rules/gateway-signature';
import { uniqueKey } from './support/fixtures';
import { createGatewayChannel } from './support/orders';
import { STRIPE_WEBHOOK_SECRET, startStack, type ApiResponse, type TestStack } from './support/stack';

const ANONYMOUS_BUDGET = 120;
const signer = new Stripe('sk_test_unused');
const GATEWAY = uniqueKey('gwrl').replace(/_/g, '-');
const GATEWAY_SECRET = 'rate-limit-gateway-secret-0123';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ withWorker: false, edge: { RATE_LIMIT_ANONYMOUS: ANONYMOUS_BUDGET, RATE_LIMIT_WINDOW_MS: 3_600_000 } });
  await createGatewayChannel(stack, { code: GATEWAY, name: 'Rate limits', gatewayUrl: 'http://127.0.0.1:9', merchantId: 'm-1', secret: GATEWAY_SECRET });
});
afterAll(async () => {
  await stack?.close();
});

function postStripe(payload: string, signature?: string): Promise<ApiResponse> {
  return stack.call('POST', '/v1/webhooks/stripe', {
    as: 'anonymous',
    rawBody: payload,
    idempotencyKey: null,
    headers: signature ? { 'stripe-signature': signature } : {},
  });
}

function postGateway(params: Record<string, string>): Promise<ApiResponse> {
  return stack.call('POST', `/v1/webhooks/gateway/${GATEWAY}`, { as: 'anonymous', rawBody: JSON.stringify(params), idempotencyKey: null });
}

it('accepts every verified delivery beyond the anonymous budget, and answers 429 to unsigned ones beyond it', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < ANONYMOUS_BUDGET + 15; i++) {
    const payload = JSON.stringify({ id: `evt_${uniqueKey('peak')}`, object: 'event', type: 'charge.succeeded', data: { object: { id: `ch_${i}` } } });
    const response = await postStripe(payload, signer.webhooks.generateTestHeaderString({ payload, secret: STRIPE_WEBHOOK_SECRET }));
    statuses.push(response.status);
  }
  expect(statuses.filter((status) => status !== 200)).toEqual([]);
  // A verified gateway callback is not counted either, even when it is then refused (it names no order).
  const timestamp = String(Math.floor(Date.now() / 1000));
  for (let i = 0; i < 10; i++) {
    const params = { merchant_id: 'm-1', out_trade_no: 'no-such-order', trade_no: `t-${i}`, amount: '1', currency: 'USD', status: 'success', timestamp };
    const response = await postGateway(withSignature(params, GATEWAY_SECRET));
    expect([response.status, response.body.error.code]).toEqual([400, 'PAYMENT_MISMATCH']);
  }

  // Unsigned and forged requests count: the budget's worth are refused for their signature, then 429.
  const payload = JSON.stringify({ id: 'evt_flood', object: 'event', type: 'charge.succeeded', data: { object: {} } });
  const forged = signer.webhooks.generateTestHeaderString({ payload, secret: 'whsec_not_ours' });
  const refusals: string[] = [];
  for (let i = 0; i < ANONYMOUS_BUDGET; i++) {
    const response = i % 3 === 2 ? await postGateway({ trade_no: 'x', sign: 'f'.repeat(64) }) : await postStripe(payload, i % 3 === 0 ? undefined : forged);
    refusals.push(response.body.error.code);
  }
  expect(new Set(refusals)).toEqual(new Set(['WEBHOOK_SIGNATURE_INVALID']));
  for (const response of [await postStripe(payload), await postStripe(payload, forged), await postGateway({ trade_no: 'x' })]) {
    expect(response.status).toBe(429);
    expect(response.body.error.code).toBe('RATE_LIMITED');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  }
  expect(await stack.db.paymentEvent.count({ where: { eventId: 'evt_flood' } })).toBe(0);
});
