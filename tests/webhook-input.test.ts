/**
 * Payment notifications whose signature is right but whose content is not what the service reads: a
 * signed Stripe event that is `{}`, `[]`, has no `type` or a null `data.object`, a gateway callback with
 * a nested value, a NUL character or a status we do not know. Each is answered with a 4xx envelope or
 * acknowledged as ignored, never a 5xx, and none of them pays an order. The properties sign arbitrary
 * bodies and broken variants of a valid event; the valid event itself pays, so the checks can fail.
 */
import fc from 'fast-check';
import Stripe from 'stripe';
import { withSignature, type GatewayParams } from '../modules/payments/rules/gateway-signature';
import { uniqueKey } from './support/fixtures';
import { buyablePackage, createGatewayChannel, placeOrder, sessionEvent, waitForOrder } from './support/orders';
import { STRIPE_WEBHOOK_SECRET, newUserId, startStack, type ApiResponse, type TestStack } from './support/stack';

let stack: TestStack;
const signer = new Stripe('sk_test_unused');
const GATEWAY = uniqueKey('gw').replace(/_/g, '-');
const GATEWAY_SECRET = 'webhook-input-gateway-secret-0123';
const MERCHANT = 'webhook-input-merchant';
const HANDLED_TYPES = ['checkout.session.completed', 'checkout.session.async_payment_succeeded', 'checkout.session.async_payment_failed'];

beforeAll(async () => {
  stack = await startStack();
  // The callback tests never reach the gateway itself: only the channel's merchant id and secret matter.
  await createGatewayChannel(stack, { code: GATEWAY, name: 'Input tests', gatewayUrl: 'http://127.0.0.1:9', merchantId: MERCHANT, secret: GATEWAY_SECRET });
});
afterAll(async () => {
  await stack?.close();
});

type Placed = { id: string; amountMinor: number; currency: string };

async function unpaidOrder(channel = 'stripe'): Promise<Placed> {
  const pkg = await buyablePackage(stack);
  return placeOrder(stack, newUserId('wh-input'), pkg.code, channel);
}

/** POSTs `payload` (any text) to the Stripe webhook with a valid Stripe-Signature over it. */
function postSignedStripe(payload: string): Promise<ApiResponse> {
  const signature = signer.webhooks.generateTestHeaderString({ payload, secret: STRIPE_WEBHOOK_SECRET });
  return stack.call('POST', '/v1/webhooks/stripe', { as: 'anonymous', rawBody: payload, idempotencyKey: null, headers: { 'stripe-signature': signature } });
}

function postGateway(body: string, contentType = 'application/json'): Promise<ApiResponse> {
  return stack.call('POST', `/v1/webhooks/gateway/${GATEWAY}`, { as: 'anonymous', rawBody: body, idempotencyKey: null, headers: { 'content-type': contentType } });
}

/** The order is as placed: still waiting for its payment, and no payment recorded for it. */
async function expectUnpaid(orderId: string): Promise<void> {
  expect((await stack.db.order.findUniqueOrThrow({ where: { id: orderId } })).status).toBe('pending_payment');
  expect(await stack.db.orderPayment.count({ where: { orderId } })).toBe(0);
}

/** A refusal with one of `codes` or an acknowledgement that did nothing; never a 5xx, never a payment handed to the order. */
function expectRefusedOrIgnored(response: ApiResponse, codes = ['VALIDATION_FAILED']): void {
  if (response.status === 200) {
    expect(response.body).toEqual({ code: 'success', result: 'ignored' });
    return;
  }
  expect(response.status).toBe(400);
  expect(codes).toContain(response.body.error.code);
}

async function storedStripeEvents(eventId: unknown): Promise<number> {
  return typeof eventId === 'string' ? stack.db.paymentEvent.count({ where: { provider: 'stripe', eventId } }) : 0;
}

describe('a signed Stripe event the service cannot read', () => {
  it.each([
    ['{}', () => ({})],
    ['[]', () => []],
    ['null', () => null],
    ['a string', () => 'checkout.session.completed'],
    ['no type', (order: Placed) => ({ ...sessionEvent('checkout.session.completed', order), type: undefined })],
    ['data.object null', (order: Placed) => ({ ...sessionEvent('checkout.session.completed', order), data: { object: null } })],
    ['no id', (order: Placed) => ({ ...sessionEvent('checkout.session.completed', order), id: undefined })],
    ['an amount that is text', (order: Placed) => {
      const event = sessionEvent('checkout.session.completed', order);
      return { ...event, data: { object: { ...event.data.object, amount_total: '1000' } } };
    }],
    ['metadata that is a list', (order: Placed) => {
      const event = sessionEvent('checkout.session.async_payment_succeeded', order);
      return { ...event, data: { object: { ...event.data.object, metadata: [order.id] } } };
    }],
  ])('%s: 400 VALIDATION_FAILED, nothing stored, the order unpaid', async (_label, build) => {
    const order = await unpaidOrder();
    const body = build(order);
    const response = await postSignedStripe(JSON.stringify(body));
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.details.issues.length).toBeGreaterThan(0);
    for (const issue of response.body.error.details.issues) expect(issue.path).toMatch(/^body(\.|$)/);
    expect(await stack.db.paymentEvent.count({ where: { orderId: order.id } })).toBe(0);
    expect(await storedStripeEvents((body as { id?: unknown } | null)?.id)).toBe(0);
    await expectUnpaid(order.id);
  });

  it('a body that is not JSON at all: 400 VALIDATION_FAILED (the signature was right, so not WEBHOOK_SIGNATURE_INVALID)', async () => {
    const response = await postSignedStripe('{"id": "evt_1", "type":');
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('what PostgreSQL cannot store (NUL, a lone surrogate, nesting 5,000 deep) is 400, also in a type the service ignores', async () => {
    const order = await unpaidOrder();
    const event = sessionEvent('checkout.session.completed', order);
    // Built as text: JSON.stringify overflows the stack at this depth.
    const deepId = `evt_${uniqueKey('deep')}`;
    const deep = `{"id":"${deepId}","type":"customer.created","data":{"object":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}}`;
    const nulId = `evt_${uniqueKey('nul')}`;
    for (const [payload, id] of [
      [JSON.stringify({ ...event, data: { object: { ...event.data.object, metadata: { orderId: order.id, note: 'a\u0000b' } } } }), event.id],
      [JSON.stringify({ ...event, data: { object: { ...event.data.object, id: 'cs_\ud800' } } }), event.id],
      [JSON.stringify({ id: nulId, type: 'customer.created', data: { object: { id: 'cus_1', 'na\u0000me': 'x' } } }), nulId],
      [deep, deepId],
    ]) {
      const response = await postSignedStripe(payload!);
      expect([response.status, response.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(await storedStripeEvents(id)).toBe(0);
    }
    await expectUnpaid(order.id);
  });

  it('an event type the service does not handle is acknowledged as ignored and recorded', async () => {
    const id = `evt_${uniqueKey('other')}`;
    const response = await postSignedStripe(JSON.stringify({ id, object: 'event', type: 'invoice.created', data: { object: { id: 'in_1', lines: [1, 'two', null] } } }));
    expect(response.body).toEqual({ code: 'success', result: 'ignored' });
    expect(await storedStripeEvents(id)).toBe(1);
  });

  it('property: any signed JSON body is answered without a 5xx and pays nothing', async () => {
    const order = await unpaidOrder();
    // Some name the order, as a real event for it would.
    const namingTheOrder = fc.dictionary(fc.string(), fc.jsonValue()).map((fields) => ({ ...fields, metadata: { orderId: order.id }, client_reference_id: order.id }));
    const eventish = fc.record(
      {
        id: fc.oneof(fc.string().map((s) => `evt_${s}`), fc.anything()),
        type: fc.oneof(fc.constantFrom(...HANDLED_TYPES, 'charge.refunded'), fc.anything()),
        data: fc.oneof(fc.record({ object: fc.oneof(fc.anything(), namingTheOrder) }), fc.anything()),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue({ stringUnit: 'binary' }), fc.anything(), eventish), async (body) => {
        const payload = JSON.stringify(body) ?? 'undefined';
        // Generated ids repeat across runs (an acknowledged one is stored): compare with before.
        const id = (body as { id?: unknown } | null)?.id;
        const storedBefore = await storedStripeEvents(id);
        const response = await postSignedStripe(payload);
        expectRefusedOrIgnored(response);
        if (response.status !== 200) expect(await storedStripeEvents(id)).toBe(storedBefore);
      }),
      { numRuns: 150 },
    );
    await expectUnpaid(order.id);
  });

  it('property: a valid paid event with a field it needs removed, null, of the wrong type or wrapped in a list pays nothing', async () => {
    const order = await unpaidOrder();
    await fc.assert(
      fc.asyncProperty(fc.array(breakage(), { minLength: 1, maxLength: 3 }), async (breakages) => {
        const event: unknown = sessionEvent('checkout.session.completed', order);
        for (const broken of breakages) applyBreakage(event, broken);
        const response = await postSignedStripe(JSON.stringify(event));
        expectRefusedOrIgnored(response);
        if (response.status !== 200) expect(await storedStripeEvents((event as { id?: unknown }).id)).toBe(0);
      }),
      { numRuns: 150 },
    );
    await expectUnpaid(order.id);
    // The same event unbroken pays the order: the property above would have seen a payment get through.
    const valid = await postSignedStripe(JSON.stringify(sessionEvent('checkout.session.completed', order)));
    expect(valid.body).toEqual({ code: 'success', result: 'signalled' });
    await waitForOrder(stack, order.id, ['completed']);
  });
});

/** What the Stripe path reads from a checkout.session event, and what each field may be (docs/api.md). */
const READ_FIELDS: Array<{ path: string[]; kind: 'string' | 'object' | 'integer'; optional?: true }> = [
  { path: ['id'], kind: 'string' },
  { path: ['type'], kind: 'string' },
  { path: ['data'], kind: 'object' },
  { path: ['data', 'object'], kind: 'object' },
  { path: ['data', 'object', 'id'], kind: 'string' },
  { path: ['data', 'object', 'payment_status'], kind: 'string' },
  { path: ['data', 'object', 'amount_total'], kind: 'integer' },
  { path: ['data', 'object', 'currency'], kind: 'string' },
  // May be absent or null (the order id then comes from client_reference_id, the payment id from the session).
  { path: ['data', 'object', 'payment_intent'], kind: 'string', optional: true },
  { path: ['data', 'object', 'metadata'], kind: 'object', optional: true },
  { path: ['data', 'object', 'metadata', 'orderId'], kind: 'string', optional: true },
  { path: ['data', 'object', 'client_reference_id'], kind: 'string', optional: true },
];

type Breakage = { path: string[]; change: { remove: true } | { value: unknown } };

function isOfKind(value: unknown, kind: 'string' | 'object' | 'integer'): boolean {
  if (kind === 'string') return typeof value === 'string';
  if (kind === 'integer') return typeof value === 'number';
  // An object with a string `id` is a valid expanded payment_intent; keep the wrong values unambiguous.
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One change that makes a field unreadable: removed or null (where required), a value of another type, or the value in a list. */
function breakage(): fc.Arbitrary<Breakage> {
  return fc.constantFrom(...READ_FIELDS).chain((field) => {
    const wrongType = fc.anything().filter((value) => !isOfKind(value, field.kind) && value !== null && value !== undefined);
    const changes: Array<fc.Arbitrary<Breakage['change']>> = [wrongType.map((value) => ({ value })), fc.constant({ value: 'WRAP' })];
    if (!field.optional) changes.push(fc.constant({ remove: true as const }), fc.constant({ value: null }));
    if (field.kind === 'integer') changes.push(fc.oneof(fc.double({ noInteger: true }), fc.integer({ max: -1 })).map((value) => ({ value })));
    // Another type (not one of the three handled) is ignored; another payment status is not "paid".
    if (field.path.join('.') === 'type') changes.push(fc.string().filter((s) => !HANDLED_TYPES.includes(s)).map((value) => ({ value })));
    if (field.path.join('.') === 'data.object.payment_status') changes.push(fc.string().filter((s) => s !== 'paid').map((value) => ({ value })));
    return fc.oneof(...changes).map((change) => ({ path: field.path, change }));
  });
}

function applyBreakage(event: unknown, { path, change }: Breakage): void {
  let parent = event as Record<string, unknown>;
  for (const key of path.slice(0, -1)) {
    const next = parent[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) return; // an earlier change broke the parent already
    parent = next as Record<string, unknown>;
  }
  const key = path.at(-1)!;
  if ('remove' in change) delete parent[key];
  else parent[key] = change.value === 'WRAP' ? [parent[key]] : change.value;
}

describe('a signed gateway callback the service cannot read', () => {
  const now = () => String(Math.floor(Date.now() / 1000));
  const callback = (order: Placed, fields: Record<string, string> = {}): GatewayParams => ({
    merchant_id: MERCHANT,
    out_trade_no: order.id,
    trade_no: `t-${uniqueKey('trade')}`,
    amount: String(order.amountMinor),
    currency: order.currency,
    status: 'success',
    timestamp: now(),
    ...fields,
  });

  it('a value that is an object, a list or null is 400 VALIDATION_FAILED', async () => {
    const order = await unpaidOrder(GATEWAY);
    for (const value of [{ nested: 'x' }, ['x'], null]) {
      const response = await postGateway(JSON.stringify({ ...withSignature(callback(order), GATEWAY_SECRET), trade_no: value }));
      expect([response.status, response.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    }
    await expectUnpaid(order.id);
  });

  it('NUL in a signed parameter (form or JSON) is 400, not a failed insert', async () => {
    const order = await unpaidOrder(GATEWAY);
    const params = withSignature(callback(order, { trade_no: 'a\u0000b' }), GATEWAY_SECRET);
    const json = await postGateway(JSON.stringify(params));
    expect([json.status, json.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const form = await postGateway(new URLSearchParams(params).toString(), 'application/x-www-form-urlencoded');
    expect([form.status, form.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(await stack.db.paymentEvent.count({ where: { orderId: order.id } })).toBe(0);
    await expectUnpaid(order.id);
  });

  it('a signed callback without trade_no or with a malformed amount is 400 and stores nothing', async () => {
    const order = await unpaidOrder(GATEWAY);
    const { trade_no: _dropped, ...withoutTradeNo } = callback(order);
    for (const params of [withoutTradeNo, callback(order, { amount: '10.00' }), callback(order, { timestamp: 'yesterday' })]) {
      const response = await postGateway(JSON.stringify(withSignature(params, GATEWAY_SECRET)));
      expect(response.status).toBe(400);
      expect(response.body.error.details.issues.length).toBeGreaterThan(0);
    }
    expect(await stack.db.paymentEvent.count({ where: { orderId: order.id } })).toBe(0);
    await expectUnpaid(order.id);
  });

  it('a status other than success or failed is acknowledged as ignored and does not fail the order', async () => {
    const order = await unpaidOrder(GATEWAY);
    const response = await postGateway(JSON.stringify(withSignature(callback(order, { status: 'pending' }), GATEWAY_SECRET)));
    expect(response.body).toEqual({ code: 'success', result: 'ignored' });
    expect(await stack.db.paymentEvent.count({ where: { orderId: order.id, type: 'payment.pending' } })).toBe(1);
    await expectUnpaid(order.id);
  });

  it('property: signed callbacks with a parameter removed or replaced are answered without a 5xx and pay nothing', async () => {
    const order = await unpaidOrder(GATEWAY);
    const fields = ['merchant_id', 'out_trade_no', 'amount', 'currency', 'status', 'timestamp', 'trade_no'];
    const replacement = fc.oneof(
      fc.constant(undefined), // removed
      fc.string({ unit: 'binary' }),
      fc.jsonValue({ stringUnit: 'binary' }),
    );
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom(...fields), replacement, { minKeys: 1 }), async (changes) => {
        const valid = callback(order);
        const params: Record<string, unknown> = { ...valid };
        for (const [name, value] of Object.entries(changes)) params[name] = value;
        // Only changes that can never make a valid payment: a new trade_no alone would be one. Numbers and
        // booleans in a JSON callback are read as their text.
        const asText = (value: unknown) => (typeof value === 'number' || typeof value === 'boolean' ? String(value) : value);
        const stillValid = Object.entries(valid).every(([name, value]) => name === 'trade_no' || asText(params[name]) === value);
        fc.pre(!stillValid && params.status !== 'failed');
        const signed = Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined).map(([name, value]) => [name, String(asText(value))]));
        const body = { ...params, sign: withSignature(signed, GATEWAY_SECRET).sign };
        // A stale timestamp is refused as a replay (WEBHOOK_SIGNATURE_INVALID).
        expectRefusedOrIgnored(await postGateway(JSON.stringify(body)), ['VALIDATION_FAILED', 'PAYMENT_MISMATCH', 'WEBHOOK_SIGNATURE_INVALID']);
      }),
      { numRuns: 100 },
    );
    await expectUnpaid(order.id);
  });
});

describe('a manual payment confirmation with a malformed body', () => {
  it.each([['[]'], ['{}'], ['"paid"'], ['{"reason": null}']])('%s is 400 VALIDATION_FAILED', async (body) => {
    const order = await unpaidOrder('manual');
    const response = await stack.call('POST', `/v1/admin/orders/${order.id}/mark-paid`, { as: 'admin', rawBody: body });
    expect([response.status, response.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    await expectUnpaid(order.id);
  });
});
