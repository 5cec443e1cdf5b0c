/**
 * Manual top-ups and refills that end cleanly, on the real stack (PostgreSQL, Temporal, the worker, the
 * gateway simulator): an agent buys with the user's saved method in one call and polls; the same key
 * replays, another key or another caller is another purchase; a charge the bank wants the customer for
 * (3-D Secure) waits with a link, is completed at the gateway, confirmed and provisioned once; a manual
 * top-up counts against the rule's caps; a refill for a user without a saved method fails cleanly (slot
 * released, rule paused, the user notified); refills are findable by TopUpRuleId.
 */
import type { Connection } from '@temporalio/client';
import { withSignature } from '../modules/payments/rules/gateway-signature';
import { startGatewaySimulator, type GatewaySimulator } from '../scripts/services/gateway-simulator';
import { ensureSearchAttributes } from '../worker/search-attributes';
import { availableCredits } from '../modules/credits';
import { storeNotice } from '../modules/events';
import { monthlyUse, startRefillAfter } from '../modules/topups';
import type { topUpRefillWorkflow } from '../workflows/top-up-refill';
import { createPackage, expectStatus, uniqueKey } from './support/fixtures';
import { createGatewayChannel, provisionedState, waitForOrder } from './support/orders';
import { grantCredits, newUserId, startStack, type TestStack } from './support/stack';
import { waitFor } from './support/wait';

const account = { merchantId: 'm-manual-top-ups', secret: 'a-secret-of-at-least-sixteen' };
const PACKAGE_CREDITS = 40;
let stack: TestStack;
let gateway: GatewaySimulator;
let channel: string;
let packageCode: string;

interface Refill {
  id: string;
  workflowId: string;
  ruleId: string | null;
  status: string;
  outcome: string;
  orderId: string | null;
  actionUrl: string | null;
  failureReason: string | null;
  trigger: string;
}

beforeAll(async () => {
  stack = await startStack({ withWorker: false });
  await ensureSearchAttributes(stack.temporal.connection as Connection, 'default');
  await stack.startWorker();
  gateway = await startGatewaySimulator(account);
  channel = uniqueKey('gwm');
  await createGatewayChannel(stack, { code: channel, name: 'Card (gateway)', gatewayUrl: gateway.url, ...account });
  packageCode = (await createPackage(stack, { type: 'credits', creditsAmount: PACKAGE_CREDITS, priceMinor: 1000, currency: 'USD' })).code;
});
afterAll(async () => {
  await stack?.close();
  await gateway?.close();
});

async function gatewayToken(simulate?: 'decline' | 'requires_action'): Promise<string> {
  const params = withSignature({ merchant_id: account.merchantId, customer_ref: 'user', timestamp: String(Math.floor(Date.now() / 1000)), ...(simulate ? { simulate } : {}) }, account.secret);
  const response = await fetch(`${gateway.url}/tokens`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
  return ((await response.json()) as { token: string }).token;
}

async function userWithMethod(label: string, simulate?: 'decline' | 'requires_action'): Promise<string> {
  const userId = newUserId(`tum-${label}`);
  expectStatus(await stack.call('POST', '/v1/me/payment-methods', { as: { user: userId }, body: { channel, token: await gatewayToken(simulate) } }), 201, 'save token');
  return userId;
}

function buy(userId: string, key: string, body: Record<string, unknown> = { packageCode }) {
  return stack.call<Refill>('POST', '/v1/me/top-ups', { as: { user: userId }, body, idempotencyKey: key });
}

async function pollUntil(userId: string, refillId: string, outcomes: string[]): Promise<Refill> {
  return waitFor(
    async () => {
      const refill = expectStatus(await stack.call<Refill>('GET', `/v1/me/top-ups/${refillId}`, { as: { user: userId } }), 200, 'poll');
      return outcomes.includes(refill.outcome) ? refill : undefined;
    },
    90_000,
    `refill ${refillId} ${outcomes.join('|')}`,
  );
}

describe('manual top-ups (POST /v1/me/top-ups)', () => {
  it('buys with the saved method in one call: 202 with the refill, polled to succeeded, credits granted once; the same key replays, another key or caller is another purchase', async () => {
    const userId = await userWithMethod('buy');
    const other = await userWithMethod('other');
    const key = uniqueKey('topup');

    const first = buy(userId, key);
    const again = buy(userId, key);
    const [a, b] = await Promise.all([first, again]);
    const started = expectStatus(a, 202, 'manual top-up');
    expect(expectStatus(b, 202, 'same key').id).toBe(started.id);
    expect(started).toMatchObject({ workflowId: started.id, trigger: 'manual', status: 'claimed', ruleId: null, packageCode });
    expect(started.id).toMatch(/^top-up-manual-[0-9a-f]{32}$/);

    const done = await pollUntil(userId, started.id, ['succeeded', 'failed']);
    expect(done.outcome).toBe('succeeded');
    await waitForOrder(stack, done.orderId!, ['completed']);
    expect(await provisionedState(stack, done.orderId!)).toEqual({ periods: 1, payments: 1, grants: 1 });
    expect(await availableCredits(stack.db, userId)).toBe(PACKAGE_CREDITS);
    const succeeded = await stack.db.event.findMany({ where: { userId, type: 'top_up.succeeded' } });
    expect(succeeded.map((event) => (event.payload as { refillId: string }).refillId)).toEqual([started.id]);

    // The same key after it finished: the stored first answer, nothing bought again.
    expect(expectStatus(await buy(userId, key), 202, 'replay').id).toBe(started.id);
    // A different body under the same key is refused.
    expect((await buy(userId, key, { packageCode: 'something-else' })).body).toMatchObject({ error: { code: 'IDEMPOTENCY_KEY_REUSED' } });
    // Another key: another purchase. Another caller with the same key: theirs.
    const second = expectStatus(await buy(userId, uniqueKey('topup')), 202, 'another key');
    const theirs = expectStatus(await buy(other, key), 202, 'another caller');
    expect(new Set([started.id, second.id, theirs.id]).size).toBe(3);
    await pollUntil(userId, second.id, ['succeeded']);
    await pollUntil(other, theirs.id, ['succeeded']);
    expect(await stack.db.order.count({ where: { userId } })).toBe(2);
    expect(await stack.db.order.count({ where: { userId: other } })).toBe(1);
    // Someone else's refill is not found.
    expect((await stack.call('GET', `/v1/me/top-ups/${theirs.id}`, { as: { user: userId } })).status).toBe(404);
  });

  it('refused up front, leaving nothing behind: no saved method (PAYMENT_METHOD_REQUIRED), a package not on sale', async () => {
    const userId = newUserId('tum-nomethod');
    const noMethod = await buy(userId, uniqueKey('topup'));
    expect([noMethod.status, (noMethod.body as unknown as { error: { code: string } }).error.code]).toEqual([422, 'PAYMENT_METHOD_REQUIRED']);
    const withMethod = await userWithMethod('nopackage');
    const noPackage = await buy(withMethod, uniqueKey('topup'), { packageCode: 'not-on-sale' });
    expect(noPackage.status).toBeGreaterThanOrEqual(400);
    expect(noPackage.status).toBeLessThan(500);
    expect(await stack.db.topUpRefill.count({ where: { userId: { in: [userId, withMethod] } } })).toBe(0);
  });

  it('counts against the rule’s monthly caps: the second manual top-up of a one-a-month rule is TOP_UP_CAP_REACHED', async () => {
    const userId = await userWithMethod('capped');
    const rule = expectStatus(await stack.call<{ id: string }>('POST', '/v1/me/top-up-rules', { as: { user: userId }, body: { thresholdCredits: 5, packageCode, maxTopUpsPerMonth: 1 } }), 201, 'rule');
    const first = expectStatus(await buy(userId, uniqueKey('topup')), 202, 'first');
    expect(first.ruleId).toBe(rule.id);
    const second = await buy(userId, uniqueKey('topup'));
    expect([second.status, (second.body as unknown as { error: { code: string } }).error.code]).toEqual([409, 'TOP_UP_CAP_REACHED']);
    await pollUntil(userId, first.id, ['succeeded']);
    expect((await monthlyUse(stack.db, rule.id, (await stack.db.topUpRefill.findUniqueOrThrow({ where: { id: first.id } })).month)).topUps).toBe(1);
    // Findable in the Temporal UI by the rule and the user.
    const found = await waitFor(
      async () => {
        const ids: string[] = [];
        for await (const run of stack.temporal.workflow.list({ query: `TopUpRuleId = "${rule.id}" AND UserId = "${userId}"` })) ids.push(run.workflowId);
        return ids.length > 0 ? ids : undefined;
      },
      60_000,
      'the refill in visibility',
    );
    expect(found).toEqual([first.id]);
  });
});

describe('requires_action (3-D Secure)', () => {
  it('waits with the link, the user is told, completing it at the gateway and confirming resumes the refill: one trade, credits once', async () => {
    const userId = await userWithMethod('3ds', 'requires_action');
    const started = expectStatus(await buy(userId, uniqueKey('topup')), 202, 'manual top-up');
    const waiting = await pollUntil(userId, started.id, ['requires_action']);
    expect(waiting.actionUrl).toMatch(/\/authenticate\?idempotency_key=/);
    const told = await stack.db.event.findMany({ where: { userId, type: 'top_up.requires_action' } });
    expect(told.map((event) => (event.payload as { actionUrl: string }).actionUrl)).toEqual([waiting.actionUrl]);
    const notice = await storeNotice(stack.db, told[0]!.id);
    const stored = await stack.db.notification.findFirstOrThrow({ where: { id: notice!.notificationId } });
    expect(stored.body).toContain(waiting.actionUrl!);

    expect((await fetch(waiting.actionUrl!)).status).toBe(200); // the customer completes the payment at the bank
    expectStatus(await stack.call('POST', `/v1/me/top-ups/${started.id}/confirm`, { as: { user: userId }, body: {} }), 202, 'confirm');
    const done = await pollUntil(userId, started.id, ['succeeded', 'failed']);
    expect(done.outcome).toBe('succeeded');
    await waitForOrder(stack, done.orderId!, ['completed']);
    expect(await provisionedState(stack, done.orderId!)).toEqual({ periods: 1, payments: 1, grants: 1 });
    expect([...gateway.trades.values()].filter((trade) => trade.out_trade_no === done.orderId)).toHaveLength(1);
    expect(await availableCredits(stack.db, userId)).toBe(PACKAGE_CREDITS);
  });
});

describe('a refill that cannot be paid ends cleanly', () => {
  it('a threshold refill for a user without a saved method: failed (no_payment_method), slot released, rule paused, the user notified', async () => {
    const userId = newUserId('tum-nosaved');
    await grantCredits(stack.db, userId, 3);
    const rule = expectStatus(await stack.call<{ id: string }>('POST', `/v1/admin/users/${userId}/top-up-rules`, { as: 'admin', body: { thresholdCredits: 10, packageCode, maxTopUpsPerMonth: 2 } }), 201, 'rule');
    const refillId = await startRefillAfter({ db: stack.db, temporal: stack.temporal, taskQueue: stack.taskQueue }, { type: 'credits.deducted', userId });
    expect(refillId).toBeDefined();
    const result = await stack.temporal.workflow.getHandle<typeof topUpRefillWorkflow>(refillId!).result();
    expect([result.outcome, result.reason]).toEqual(['failed', 'PAYMENT_METHOD_REQUIRED']);

    const refill = await stack.db.topUpRefill.findUniqueOrThrow({ where: { id: refillId! } });
    expect([refill.status, refill.outcome, refill.failureReason]).toEqual(['released', 'failed', 'no_payment_method']);
    expect(await monthlyUse(stack.db, rule.id, refill.month)).toEqual({ topUps: 0, amountMinor: 0 });
    expect(await stack.db.topUpRule.findUniqueOrThrow({ where: { id: rule.id } })).toMatchObject({ status: 'paused', pausedReason: 'no_payment_method' });
    const failed = await stack.db.event.findMany({ where: { userId, type: 'top_up.failed' } });
    expect(failed.map((event) => event.payload)).toEqual([expect.objectContaining({ refillId, reason: 'no_payment_method', rulePaused: true })]);
    const notice = await storeNotice(stack.db, failed[0]!.id);
    const stored = await stack.db.notification.findFirstOrThrow({ where: { id: notice!.notificationId } });
    expect(stored).toMatchObject({ title: 'Top-up failed' });
    expect(stored.body).toContain('paused');
  });
});
