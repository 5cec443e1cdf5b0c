/**
 * Saved payment methods (modules/topups/payment-methods.ts): a gateway token saved, listed and removed
 * (the gateway forgets it), only by its owner; channels that do not save tokens are refused.
 */
import { randomUUID } from 'node:crypto';
import { newUserId, startStack, type TestStack } from './support/stack';
import { uniqueKey } from './support/fixtures';
import { createGatewayChannel } from './support/orders';
import { startGatewaySimulator, type GatewaySimulator } from '../scripts/services/gateway-simulator';
import { withSignature } from '../modules/payments/rules/gateway-signature';

const account = { merchantId: 'm-methods', secret: 'a-secret-of-at-least-sixteen' };
let stack: TestStack;
let gateway: GatewaySimulator;
let channel: string;

beforeAll(async () => {
  stack = await startStack({ withWorker: false });
  gateway = await startGatewaySimulator(account);
  channel = uniqueKey('gw');
  await createGatewayChannel(stack, { code: channel, name: 'Card (gateway)', gatewayUrl: gateway.url, ...account });
});
afterAll(async () => {
  await stack?.close();
  await gateway?.close();
});

async function gatewayToken(): Promise<string> {
  const params = withSignature({ merchant_id: account.merchantId, customer_ref: 'user', timestamp: String(Math.floor(Date.now() / 1000)) }, account.secret);
  const response = await fetch(`${gateway.url}/tokens`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
  return ((await response.json()) as { token: string }).token;
}

describe('saved payment methods', () => {
  it('saves a gateway token, lists it, and removes it (the gateway forgets it), audited', async () => {
    const userId = newUserId('methods');
    const token = await gatewayToken();
    const saved = await stack.call('POST', '/v1/me/payment-methods', { as: { user: userId }, body: { channel, token, label: 'Visa ending 4242' } });
    expect(saved.status).toBe(201);
    expect(saved.body).toEqual({ id: expect.any(String), userId, channel, label: 'Visa ending 4242', brand: null, last4: null, createdAt: expect.any(String) });
    expect(JSON.stringify(saved.body)).not.toContain(token);
    expect((await stack.call('GET', '/v1/me/payment-methods', { as: { user: userId } })).body).toEqual({ items: [saved.body] });

    const key = randomUUID();
    const removed = await stack.call('DELETE', `/v1/me/payment-methods/${saved.body.id}`, { as: { user: userId }, idempotencyKey: key });
    expect([removed.status, removed.body.id]).toEqual([200, saved.body.id]);
    expect(gateway.tokens.has(token)).toBe(false);
    expect((await stack.call('GET', '/v1/me/payment-methods', { as: { user: userId } })).body).toEqual({ items: [] });
    const replay = await stack.call('DELETE', `/v1/me/payment-methods/${saved.body.id}`, { as: { user: userId }, idempotencyKey: key });
    expect([replay.status, replay.body.id]).toEqual([200, saved.body.id]);
    expect((await stack.call('DELETE', `/v1/me/payment-methods/${saved.body.id}`, { as: { user: userId } })).status).toBe(404);

    const audit = await stack.db.auditEvent.findMany({ where: { entityType: 'payment_method', entityId: saved.body.id }, orderBy: { id: 'asc' } });
    expect(audit.map((event) => event.action)).toEqual(['payment_method.saved', 'payment_method.removed']);
  });

  it("refuses a channel that does not save tokens, a token saved twice, and another user's removal", async () => {
    const userId = newUserId('methods-refused');
    const token = await gatewayToken();
    const stripe = await stack.call('POST', '/v1/me/payment-methods', { as: { user: userId }, body: { channel: 'stripe', token } });
    expect([stripe.status, stripe.body.error.code]).toEqual([422, 'CHANNEL_UNAVAILABLE']);
    const saved = await stack.call('POST', '/v1/me/payment-methods', { as: { user: userId }, body: { channel, token } });
    expect(saved.status).toBe(201);
    const twice = await stack.call('POST', '/v1/me/payment-methods', { as: { user: newUserId('other') }, body: { channel, token } });
    expect([twice.status, twice.body.error.code]).toEqual([409, 'ALREADY_EXISTS']);
    expect((await stack.call('DELETE', `/v1/me/payment-methods/${saved.body.id}`, { as: { user: newUserId('thief') } })).status).toBe(404);
    expect(gateway.tokens.has(token)).toBe(true);
  });
});
