/**
 * Stripe saved payment methods on the real stack (PostgreSQL, Temporal, the worker, stripe-mock): a
 * Customer kept per user, a setup-mode Checkout Session, the signed setup event keeping the card once,
 * listing and removing (detached at Stripe; another user's is NOT_FOUND), a rule's choice of method, and
 * a refill charging the Stripe method off-session with a key derived from the refill.
 *
 * stripe-mock is stateless and answers fixtures: every PaymentIntent it creates is `requires_payment_method`
 * (a decline), and its SetupIntents name no PaymentMethod. So the approved path is shown by recording
 * the approval Stripe would have answered (the order's payment reference), never by a fake Stripe.
 */
import { randomUUID } from 'node:crypto';
import type { Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import type Stripe from 'stripe';
import { createTopUpActivities } from '../activities/top-ups';
import { availableCredits } from '../modules/credits';
import { startRefillAfter } from '../modules/topups';
import { ensureSearchAttributes } from '../worker/search-attributes';
import type { topUpRefillWorkflow } from '../workflows/top-up-refill';
import { createPackage, expectStatus } from './support/fixtures';
import { postStripeEvent, provisionedState, waitForOrder } from './support/orders';
import { grantCredits, newUserId, startStack, type TestStack } from './support/stack';
import { waitFor } from './support/wait';

const PACKAGE_CREDITS = 40;
let stack: TestStack;
let packageCode: string;
/** Every Stripe request the API and the worker made (they share the client): method, path and idempotency key. */
const stripeRequests: Stripe.RequestEvent[] = [];

beforeAll(async () => {
  stack = await startStack({ withWorker: false });
  await ensureSearchAttributes(stack.temporal.connection as Connection, 'default');
  await stack.startWorker();
  stack.deps.payments.stripe.on('request', (event: Stripe.RequestEvent) => stripeRequests.push(event));
  packageCode = (await createPackage(stack, { type: 'credits', creditsAmount: PACKAGE_CREDITS, priceMinor: 900, currency: 'USD' })).code;
});
afterAll(async () => {
  await stack?.close();
});

function keysOf(method: string, path: string): string[] {
  return stripeRequests.filter((request) => request.method === method && request.path === path).map((request) => request.idempotency_key ?? '');
}

async function startSetup(userId: string) {
  return expectStatus(await stack.call('POST', '/v1/me/payment-methods/stripe-setups', { as: { user: userId }, body: { channel: 'stripe' } }), 201, 'stripe setup');
}

async function customerOf(userId: string): Promise<string> {
  return (await stack.db.stripeCustomer.findUniqueOrThrow({ where: { userId } })).customerRef;
}

/** What Stripe sends when the user saved a card on the setup page. */
function setupSucceeded(customer: string, paymentMethod: string, channel = 'stripe') {
  return {
    id: `evt_${randomUUID().replace(/-/g, '')}`,
    object: 'event',
    type: 'setup_intent.succeeded',
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: `seti_${randomUUID().replace(/-/g, '')}`, object: 'setup_intent', status: 'succeeded', customer, payment_method: paymentMethod, metadata: { channel } } },
  };
}

/** A user who saved a Stripe card through the setup flow: answers the user, their Customer and the saved method. */
async function userWithStripeCard(label: string) {
  const userId = newUserId(`tsm-${label}`);
  await startSetup(userId);
  const customer = await customerOf(userId);
  const paymentMethod = `pm_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
  expectStatus(await postStripeEvent(stack, setupSucceeded(customer, paymentMethod)), 200, 'setup event');
  const methods = (await stack.call('GET', '/v1/me/payment-methods', { as: { user: userId } })).body.items as { id: string }[];
  return { userId, customer, paymentMethod, methodId: methods[0]!.id };
}

describe('Stripe saved payment methods', () => {
  it('a setup opens a setup-mode Checkout Session on one Customer per user, created once with a key derived from the user', async () => {
    const alice = newUserId('tsm-alice');
    const bob = newUserId('tsm-bob');
    const first = await startSetup(alice);
    expect(first).toEqual({ channel: 'stripe', sessionId: expect.stringMatching(/^cs_/), url: expect.stringMatching(/^https:\/\//) });
    await startSetup(alice);
    await startSetup(bob);
    // A retry under the same Idempotency-Key is the same session (replayed, Stripe not asked again).
    const setupCalls = () => stack.call('POST', '/v1/me/payment-methods/stripe-setups', { as: { user: alice }, body: { channel: 'stripe' }, idempotencyKey: 'tsm-setup-once' });
    const once = expectStatus(await setupCalls(), 201, 'setup') as { sessionId: string };
    const sessionsBefore = keysOf('POST', '/v1/checkout/sessions').length;
    expect((await setupCalls()).body.sessionId).toBe(once.sessionId);
    expect(keysOf('POST', '/v1/checkout/sessions')).toHaveLength(sessionsBefore);
    // Service and admin credentials are not a user: they save nothing for themselves.
    expect((await stack.call('POST', '/v1/me/payment-methods/stripe-setups', { as: 'service', body: { channel: 'stripe' } })).status).toBe(403);
    expect(await stack.db.stripeCustomer.count({ where: { userId: { in: [alice, bob] } } })).toBe(2);
    expect(await customerOf(alice)).not.toBe(await customerOf(bob));
    // Alice's second setup asked Stripe for no second Customer.
    expect(keysOf('POST', '/v1/customers').filter((key) => key === `customer-${alice}`)).toHaveLength(1);
    expect(keysOf('POST', '/v1/customers')).toContain(`customer-${bob}`);

    const gateway = await stack.call('POST', '/v1/me/payment-methods/stripe-setups', { as: { user: alice }, body: { channel: 'no-such-channel' } });
    expect([gateway.status, gateway.body.error.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('the signed setup event keeps the card once (brand and last4 as Stripe reports them); the owner lists and removes it, another user cannot', async () => {
    const { userId, customer, paymentMethod, methodId } = await userWithStripeCard('save');
    const listed = await stack.call('GET', '/v1/me/payment-methods', { as: { user: userId } });
    expect(listed.body.items).toEqual([{ id: methodId, userId, channel: 'stripe', label: 'visa ending 4242', brand: 'visa', last4: '4242', createdAt: expect.any(String) }]);
    const row = await stack.db.savedPaymentMethod.findUniqueOrThrow({ where: { id: methodId } });
    expect(row.externalRef).toBe(paymentMethod);

    // Stripe reports a setup more than once (and redelivers): still one method, audited once.
    expectStatus(await postStripeEvent(stack, setupSucceeded(customer, paymentMethod)), 200, 'the same setup again');
    expect((await stack.call('GET', '/v1/me/payment-methods', { as: { user: userId } })).body.items).toHaveLength(1);
    expect(await stack.db.auditEvent.count({ where: { entityType: 'payment_method', entityId: methodId, action: 'payment_method.saved' } })).toBe(1);

    const other = newUserId('tsm-other');
    expect((await stack.call('GET', '/v1/me/payment-methods', { as: { user: other } })).body.items).toEqual([]);
    expect((await stack.call('DELETE', `/v1/me/payment-methods/${methodId}`, { as: { user: other } })).status).toBe(404);

    const key = randomUUID();
    const removed = await stack.call('DELETE', `/v1/me/payment-methods/${methodId}`, { as: { user: userId }, idempotencyKey: key });
    expect([removed.status, removed.body.id]).toEqual([200, methodId]);
    expect(keysOf('POST', `/v1/payment_methods/${paymentMethod}/detach`)).toEqual([`detach-${paymentMethod}`]);
    const replay = await stack.call('DELETE', `/v1/me/payment-methods/${methodId}`, { as: { user: userId }, idempotencyKey: key });
    expect([replay.status, replay.body.id]).toEqual([200, methodId]);
    expect(keysOf('POST', `/v1/payment_methods/${paymentMethod}/detach`)).toHaveLength(1);
    expect((await stack.call('GET', '/v1/me/payment-methods', { as: { user: userId } })).body.items).toEqual([]);
    // A redelivered setup event does not bring a removed method back.
    expectStatus(await postStripeEvent(stack, setupSucceeded(customer, paymentMethod)), 200, 'late redelivery');
    expect((await stack.call('GET', '/v1/me/payment-methods', { as: { user: userId } })).body.items).toEqual([]);
  });

  it('two users saving cards are two Customers and two methods, each listed only to its owner', async () => {
    const [alice, bob] = await Promise.all([userWithStripeCard('two-a'), userWithStripeCard('two-b')]);
    expect(alice.customer).not.toBe(bob.customer);
    expect(alice.methodId).not.toBe(bob.methodId);
    for (const user of [alice, bob]) {
      const items = (await stack.call('GET', '/v1/me/payment-methods', { as: { user: user.userId } })).body.items as { id: string }[];
      expect(items.map((item) => item.id)).toEqual([user.methodId]);
    }
  });

  it('a setup-mode checkout.session.completed is acknowledged, not refused; a setup on a Customer not ours saves nothing', async () => {
    const userId = newUserId('tsm-session');
    await startSetup(userId);
    const customer = await customerOf(userId);
    const session = {
      id: `evt_${randomUUID().replace(/-/g, '')}`,
      object: 'event',
      type: 'checkout.session.completed',
      created: Math.floor(Date.now() / 1000),
      // A setup session has no amount and no currency: the payment reading would refuse it.
      data: { object: { id: 'cs_test_setup', object: 'checkout.session', mode: 'setup', payment_status: 'no_payment_required', amount_total: null, currency: null, customer, setup_intent: 'seti_123', metadata: { channel: 'stripe' } } },
    };
    const answer = await postStripeEvent(stack, session);
    expect([answer.status, answer.body]).toEqual([200, { code: 'success', result: 'ignored' }]);
    expect(await stack.db.paymentEvent.count({ where: { provider: 'stripe', eventId: session.id } })).toBe(1);

    expectStatus(await postStripeEvent(stack, setupSucceeded('cus_not_ours', 'pm_stranger')), 200, 'a stranger setup');
    expect(await stack.db.savedPaymentMethod.count({ where: { externalRef: 'pm_stranger' } })).toBe(0);
  });
});

describe('a rule names the saved method it charges', () => {
  it("refuses an unknown, another user's or a removed method; an active rule's method cannot be removed until the rule is paused", async () => {
    const { userId, methodId } = await userWithStripeCard('rule');
    const other = await userWithStripeCard('rule-other');
    const rule = (paymentMethodId: string) => ({ thresholdCredits: 10, packageCode, maxTopUpsPerMonth: 2, paymentMethodId });
    for (const paymentMethodId of [randomUUID(), other.methodId]) {
      const refused = await stack.call('POST', '/v1/me/top-up-rules', { as: { user: userId }, body: rule(paymentMethodId) });
      expect([refused.status, refused.body.error.code, refused.body.error.details]).toEqual([422, 'PAYMENT_METHOD_UNAVAILABLE', { paymentMethodId }]);
    }
    const created = expectStatus(await stack.call('POST', '/v1/me/top-up-rules', { as: { user: userId }, body: rule(methodId) }), 201, 'rule') as { id: string; paymentMethodId: string };
    expect(created.paymentMethodId).toBe(methodId);

    const inUse = await stack.call('DELETE', `/v1/me/payment-methods/${methodId}`, { as: { user: userId } });
    expect([inUse.status, inUse.body.error.code, inUse.body.error.details]).toEqual([409, 'PAYMENT_METHOD_IN_USE', { methodId, ruleId: created.id }]);
    expect((await stack.call('GET', '/v1/me/payment-methods', { as: { user: userId } })).body.items).toHaveLength(1);

    expectStatus(await stack.call('POST', `/v1/me/top-up-rules/${created.id}/pause`, { as: { user: userId }, body: {} }), 200, 'pause');
    expectStatus(await stack.call('DELETE', `/v1/me/payment-methods/${methodId}`, { as: { user: userId } }), 200, 'remove');
    const resumed = await stack.call('POST', `/v1/me/top-up-rules/${created.id}/resume`, { as: { user: userId }, body: {} });
    expect([resumed.status, resumed.body.error.code]).toEqual([422, 'PAYMENT_METHOD_UNAVAILABLE']);
  });
});

describe('a refill charging a Stripe method', () => {
  it("places the order on the method's Stripe channel and charges off-session with the refill's key; a retried charge reuses it", async () => {
    const { userId, customer, methodId } = await userWithStripeCard('refill');
    await grantCredits(stack.db, userId, 5);
    const rule = expectStatus(
      await stack.call('POST', `/v1/admin/users/${userId}/top-up-rules`, { as: 'admin', body: { thresholdCredits: 10, packageCode, maxTopUpsPerMonth: 3, paymentMethodId: methodId } }),
      201,
      'rule',
    ) as { id: string };
    const refillId = await startRefillAfter({ db: stack.db, temporal: stack.temporal, taskQueue: stack.taskQueue }, { type: 'credits.deducted', userId });
    expect(refillId).toBeDefined();
    const handle = stack.temporal.workflow.getHandle<typeof topUpRefillWorkflow>(refillId!);
    // stripe-mock answers every PaymentIntent `requires_payment_method`: a decline, so the run waits on its first dunning timer.
    await waitFor(async () => (await handle.fetchHistory()).events?.some((event) => event.timerStartedEventAttributes), 60_000, 'the first dunning timer');
    await handle.terminate('test done');

    const order = await stack.db.order.findFirstOrThrow({ where: { userId } });
    expect(order).toMatchObject({ channelCode: 'stripe', packageCode, amountMinor: 900, currency: 'USD' });
    expect(keysOf('POST', '/v1/payment_intents')).toContain(`off-session-${refillId}:charge:0`);
    expect(await stack.db.topUpRefill.findMany({ where: { ruleId: rule.id } })).toHaveLength(1);

    // The charge activity retried (the worker died after Stripe answered): the same key, so Stripe replays one PaymentIntent.
    const activities = createTopUpActivities({ db: stack.db, payments: stack.deps.payments });
    const env = new MockActivityEnvironment({ taskQueue: stack.taskQueue }, { client: stack.temporal });
    const input = { refillId: refillId!, orderId: order.id, idempotencyKey: `${refillId}:charge:7` };
    expect(await env.run(activities.chargeTopUpOffSession, input)).toBe('declined');
    expect(await env.run(activities.chargeTopUpOffSession, input)).toBe('declined');
    expect(keysOf('POST', '/v1/payment_intents').filter((key) => key === `off-session-${refillId}:charge:7`)).toHaveLength(2);
    expect(customer).toMatch(/^cus_/);
  });

  it('an approved Stripe charge provisions once, recorded as a Stripe payment, however often provisioning runs', async () => {
    const { userId, methodId } = await userWithStripeCard('provision');
    await grantCredits(stack.db, userId, 5);
    const rule = expectStatus(
      await stack.call('POST', `/v1/admin/users/${userId}/top-up-rules`, { as: 'admin', body: { thresholdCredits: 10, packageCode, maxTopUpsPerMonth: 3, paymentMethodId: methodId } }),
      201,
      'rule',
    ) as { id: string };
    const activities = createTopUpActivities({ db: stack.db, payments: stack.deps.payments });
    const env = new MockActivityEnvironment({ taskQueue: stack.taskQueue }, { client: stack.temporal });
    const refillId = `top-up-${rule.id}-provision`;
    expect(await env.run(activities.claimTopUpSlot, { refillId, ruleId: rule.id, at: new Date().toISOString() })).toBe('claimed');
    const { orderId } = (await env.run(activities.placeTopUpOrder, { refillId })) as { orderId: string };
    // What the charge step keeps when Stripe answers `succeeded` (stripe-mock cannot): the PaymentIntent's id.
    await stack.db.order.update({ where: { id: orderId }, data: { paymentReference: 'pi_approved_refill' } });
    await env.run(activities.provisionTopUp, { refillId, orderId });
    await env.run(activities.provisionTopUp, { refillId, orderId });
    await waitForOrder(stack, orderId, ['completed']);
    expect(await provisionedState(stack, orderId)).toEqual({ periods: 1, payments: 1, grants: 1 });
    expect(await stack.db.orderPayment.findUniqueOrThrow({ where: { orderId } })).toMatchObject({ source: 'stripe', externalId: 'pi_approved_refill' });
    expect(await availableCredits(stack.db, userId)).toBe(5 + PACKAGE_CREDITS);
  });
});
