/**
 * A refill end to end on the real stack (PostgreSQL, Temporal, the worker, the gateway simulator): a
 * burst of deducts takes a user with a saved gateway token below their rule's threshold, the relay
 * starts one refill, which places one order, charges the token off-session and provisions the
 * credits once. A declined token starts the dunning path (the run waits on its first retry timer).
 */
import type { Connection } from '@temporalio/client';
import { withSignature } from '../modules/payments/rules/gateway-signature';
import { startGatewaySimulator, type GatewaySimulator } from '../scripts/services/gateway-simulator';
import { relayOnce, type RelayDeps } from '../modules/events/relay';
import { ensureSearchAttributes } from '../worker/search-attributes';
import { availableCredits } from '../modules/credits';
import { startRefillAfter } from '../modules/topups';
import { DUNNING_SCHEDULE_MS } from '../workflows/top-up-refill';
import type { topUpRefillWorkflow } from '../workflows/top-up-refill';
import { createPackage, expectStatus, uniqueKey } from './support/fixtures';
import { createGatewayChannel, provisionedState, waitForOrder } from './support/orders';
import { grantCredits, newUserId, startStack, type TestStack } from './support/stack';
import { waitFor } from './support/wait';

const account = { merchantId: 'm-refills', secret: 'a-secret-of-at-least-sixteen' };
const THRESHOLD = 10;
const PACKAGE_CREDITS = 50;
let stack: TestStack;
let gateway: GatewaySimulator;
let channel: string;
let packageCode: string;
let relay: RelayDeps;
/** Every refill id the relay started (or found started), per user. */
const started = new Map<string, Set<string>>();

beforeAll(async () => {
  stack = await startStack({ withWorker: false });
  await ensureSearchAttributes(stack.temporal.connection as Connection, 'default');
  await stack.startWorker();
  gateway = await startGatewaySimulator(account);
  channel = uniqueKey('gw');
  await createGatewayChannel(stack, { code: channel, name: 'Card (gateway)', gatewayUrl: gateway.url, ...account });
  packageCode = (await createPackage(stack, { type: 'credits', creditsAmount: PACKAGE_CREDITS, priceMinor: 1000, currency: 'USD' })).code;
  relay = {
    db: stack.db,
    temporal: stack.temporal,
    taskQueue: stack.taskQueue,
    config: { EVENTS_RELAY_BATCH_SIZE: 1000, EVENTS_RELAY_INTERVAL_MS: 100, WEBHOOK_RETRY_SCHEDULE_MS: [0] },
    // Other test files share the database: this relay hands over only this file's events.
    only: { userId: { startsWith: 'tur-' } },
    afterHandOver: async (deps, event) => {
      const refillId = await startRefillAfter(deps, event);
      if (refillId && event.userId) started.set(event.userId, (started.get(event.userId) ?? new Set()).add(refillId));
    },
  };
});
afterAll(async () => {
  await stack?.close();
  await gateway?.close();
});

/** What the gateway's hosted card page does when the customer saves a card: the token is all we get. */
async function gatewayToken(simulate?: 'decline'): Promise<string> {
  const params = withSignature({ merchant_id: account.merchantId, customer_ref: 'user', timestamp: String(Math.floor(Date.now() / 1000)), ...(simulate ? { simulate } : {}) }, account.secret);
  const response = await fetch(`${gateway.url}/tokens`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
  return ((await response.json()) as { token: string }).token;
}

/** A user with 12 credits, a saved gateway token and a rule (threshold 10, the package). Answers the user and the rule. */
async function userWithRule(label: string, simulate?: 'decline'): Promise<{ userId: string; ruleId: string }> {
  const userId = newUserId(`tur-${label}`);
  await grantCredits(stack.db, userId, 12);
  expectStatus(await stack.call('POST', '/v1/me/payment-methods', { as: { user: userId }, body: { channel, token: await gatewayToken(simulate) } }), 201, 'save token');
  const rule = expectStatus(await stack.call('POST', `/v1/admin/users/${userId}/top-up-rules`, { as: 'admin', body: { thresholdCredits: THRESHOLD, packageCode, maxTopUpsPerMonth: 5 } }), 201, 'rule');
  return { userId, ruleId: (rule as { id: string }).id };
}

async function deductOne(userId: string): Promise<void> {
  expectStatus(await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat', quantity: 1 } }), 201, 'deduct');
}

describe('top-up refills started by the relay', () => {
  it('a burst of concurrent deducts crossing the threshold starts one refill: one order, one charge, credits provisioned once', async () => {
    const { userId, ruleId } = await userWithRule('burst');
    await Promise.all(Array.from({ length: 6 }, () => deductOne(userId))); // 12 -> 6, below 10 from the third on
    await relayOnce(relay);
    // Another relay handing the same events over again, all at once (a relay that died before marking them): still one refill.
    const events = await stack.db.event.findMany({ where: { userId } });
    expect(events.filter((event) => event.type === 'credits.deducted')).toHaveLength(6);
    await Promise.all(events.map((event) => relay.afterHandOver!(relay, event)));

    const refillIds = [...(started.get(userId) ?? [])];
    expect(refillIds).toHaveLength(1);
    const result = await stack.temporal.workflow.getHandle<typeof topUpRefillWorkflow>(refillIds[0]!).result();
    expect(result.outcome).toBe('completed');
    const refills = await stack.db.topUpRefill.findMany({ where: { ruleId } });
    expect(refills.map((refill) => [refill.id, refill.status])).toEqual([[refillIds[0], 'claimed']]);
    expect(result.attempts.map((attempt) => attempt.result)).toEqual(['approved']);

    const orders = await stack.db.order.findMany({ where: { userId } });
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({ packageCode, channelCode: channel });
    await waitForOrder(stack, orders[0]!.id, ['completed']);
    expect(await provisionedState(stack, orders[0]!.id)).toEqual({ periods: 1, payments: 1, grants: 1 });
    expect([...gateway.trades.values()].filter((trade) => trade.out_trade_no === orders[0]!.id)).toHaveLength(1);
    expect(await availableCredits(stack.db, userId)).toBe(6 + PACKAGE_CREDITS);

    // The events of the refill's own grant, relayed later, start nothing more: the balance is above the line.
    await relayOnce(relay);
    expect(started.get(userId)?.size).toBe(1);
    expect(await stack.db.topUpRefill.count({ where: { ruleId } })).toBe(1);
  });

  it('a deduct that stays at or above the threshold starts nothing', async () => {
    const { userId, ruleId } = await userWithRule('above');
    await Promise.all([deductOne(userId), deductOne(userId)]); // 12 -> 10
    await relayOnce(relay);
    expect(started.get(userId)).toBeUndefined();
    expect(await stack.db.topUpRefill.count({ where: { ruleId } })).toBe(0);
  });

  it('a declined token starts the dunning path: the run waits on its first retry timer', async () => {
    const { userId, ruleId } = await userWithRule('declined', 'decline');
    await Promise.all(Array.from({ length: 3 }, () => deductOne(userId))); // 12 -> 9
    await relayOnce(relay);
    const refillIds = [...(started.get(userId) ?? [])];
    expect(refillIds).toHaveLength(1);
    const handle = stack.temporal.workflow.getHandle<typeof topUpRefillWorkflow>(refillIds[0]!);
    const timer = await waitFor(
      async () => {
        const history = await handle.fetchHistory();
        return history.events?.find((event) => event.timerStartedEventAttributes)?.timerStartedEventAttributes;
      },
      60_000,
      'the first dunning timer',
    );
    const seconds = Number(timer.startToFireTimeout?.seconds ?? 0);
    expect(seconds * 1000).toBe(DUNNING_SCHEDULE_MS[0]);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect((await stack.db.topUpRefill.findMany({ where: { ruleId } })).map((refill) => refill.status)).toEqual(['claimed']);
    const order = await stack.db.order.findFirstOrThrow({ where: { userId } });
    expect(order.status).toBe('pending_payment');
    expect(gateway.trades.has(order.id)).toBe(false);
    await handle.terminate('test done');
  });
});
