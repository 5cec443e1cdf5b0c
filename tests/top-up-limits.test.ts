/**
 * Limits that hold, on the real stack (PostgreSQL, Temporal, the worker, the gateway simulator):
 * - a burst of 50 concurrent deducts crossing a rule's threshold, its refill starts (as the relay makes
 *   them, once per deduct) and manual top-ups, all at once: the month's cap is never exceeded, the counter
 *   matches the refills that claimed a slot, each claimed refill is paid and granted once, and a crossing
 *   starts at most one threshold refill;
 * - a charge whose answer is lost (taken at the gateway, the caller gone before it heard) and a worker
 *   stopped as soon as the gateway took the payment: the retry and the next worker charge nothing more,
 *   and the credits are granted once;
 * - a refund of a refill's order revokes its unspent credits, as for any other order.
 */
import { withSignature } from '../modules/payments/rules/gateway-signature';
import { startGatewaySimulator, type GatewaySimulator } from '../scripts/services/gateway-simulator';
import { availableCredits } from '../modules/credits';
import { monthlyUse, startRefillAfter } from '../modules/topups';
import { createPackage, expectStatus, uniqueKey } from './support/fixtures';
import { createGatewayChannel, provisionedState, waitForOrder } from './support/orders';
import { grantCredits, newUserId, startStack, type TestStack } from './support/stack';
import { waitFor } from './support/wait';

const account = { merchantId: 'm-top-up-limits', secret: 'a-secret-of-at-least-sixteen' };
const PACKAGE_CREDITS = 30;
let stack: TestStack;
let gateway: GatewaySimulator;
let channel: string;
let packageCode: string;

beforeAll(async () => {
  stack = await startStack();
  gateway = await startGatewaySimulator(account);
  channel = uniqueKey('gwl');
  await createGatewayChannel(stack, { code: channel, name: 'Card (gateway)', gatewayUrl: gateway.url, ...account });
  packageCode = (await createPackage(stack, { type: 'credits', creditsAmount: PACKAGE_CREDITS, priceMinor: 1000, currency: 'USD' })).code;
});
afterAll(async () => {
  await stack?.close();
  await gateway?.close();
});

async function userWithToken(label: string, onToken?: (token: string) => void): Promise<string> {
  const userId = newUserId(`tul-${label}`);
  const params = withSignature({ merchant_id: account.merchantId, customer_ref: userId, timestamp: String(Math.floor(Date.now() / 1000)) }, account.secret);
  const response = await fetch(`${gateway.url}/tokens`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
  const { token } = (await response.json()) as { token: string };
  onToken?.(token);
  expectStatus(await stack.call('POST', '/v1/me/payment-methods', { as: { user: userId }, body: { channel, token } }), 201, 'save token');
  return userId;
}

/** Every refill of the user has ended: paid, given up, or capped. */
async function refillsSettled(userId: string) {
  return waitFor(
    async () => {
      const refills = await stack.db.topUpRefill.findMany({ where: { userId } });
      return refills.every((refill) => refill.outcome === 'succeeded' || refill.outcome === 'failed') ? refills : undefined;
    },
    120_000,
    'every refill to end',
  );
}

describe('top-up limits', () => {
  it('50 concurrent deducts crossing the threshold, their refill starts and 3 manual top-ups at once: never above the monthly cap, one refill per crossing, each claimed refill granted once', async () => {
    const CAP = 2;
    const userId = await userWithToken('burst');
    await grantCredits(stack.db, userId, 12);
    const rule = expectStatus(await stack.call<{ id: string }>('POST', `/v1/admin/users/${userId}/top-up-rules`, { as: 'admin', body: { thresholdCredits: 10, packageCode, maxTopUpsPerMonth: CAP } }), 201, 'rule');
    const deps = { db: stack.db, temporal: stack.temporal, taskQueue: stack.taskQueue };

    const deducts = Array.from({ length: 50 }, async () => {
      const answer = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat', quantity: 1 } });
      expect([201, 402]).toContain(answer.status);
      // What the relay does after each relayed spend event.
      return startRefillAfter(deps, { type: 'credits.deducted', userId });
    });
    const manual = Array.from({ length: 3 }, () => stack.call('POST', '/v1/me/top-ups', { as: { user: userId }, body: { packageCode }, idempotencyKey: uniqueKey('manual') }));
    const [started, manualAnswers] = await Promise.all([Promise.all(deducts), Promise.all(manual)]);
    for (const answer of manualAnswers) expect([202, 409]).toContain(answer.status);

    const refills = await refillsSettled(userId);
    const claimed = refills.filter((refill) => refill.status === 'claimed');
    const month = refills[0]!.month;
    // The cap holds, and the counter is exactly the refills that kept their slot.
    expect(claimed.length).toBeLessThanOrEqual(CAP);
    expect(await monthlyUse(stack.db, rule.id, month)).toEqual({ topUps: claimed.length, amountMinor: 1000 * claimed.length });
    // A refused manual top-up left nothing behind; an accepted one is a claimed refill.
    const accepted = manualAnswers.filter((answer) => answer.status === 202).map((answer) => (answer.body as { id: string }).id);
    expect(refills.filter((refill) => refill.trigger === 'manual').map((refill) => refill.id).sort()).toEqual([...accepted].sort());
    // One threshold refill per crossing: every start named an id of the crossings that existed, and no id twice in the table.
    const thresholdIds = refills.filter((refill) => refill.trigger === 'threshold').map((refill) => refill.id);
    expect(new Set(thresholdIds).size).toBe(thresholdIds.length);
    for (const id of started) if (id) expect(thresholdIds).toContain(id);
    // Each claimed refill paid once and granted once; nothing else was bought.
    const orders = await stack.db.order.findMany({ where: { userId } });
    expect(orders.map((order) => order.id).sort()).toEqual(claimed.map((refill) => refill.orderId).sort());
    for (const order of orders) {
      await waitForOrder(stack, order.id, ['completed']);
      expect(await provisionedState(stack, order.id)).toEqual({ periods: 1, payments: 1, grants: 1 });
      expect([...gateway.trades.values()].filter((trade) => trade.out_trade_no === order.id)).toHaveLength(1);
    }
    expect(claimed.every((refill) => refill.outcome === 'succeeded')).toBe(true);
  });

  it('a charge answer lost after the payment and a worker stopped between the charge and the grant: charged once, provisioned once', async () => {
    let token = '';
    const userId = await userWithToken('crash', (saved) => {
      token = saved;
    });
    gateway.loseNextChargeAnswer.add(token);
    const started = expectStatus(await stack.call<{ id: string }>('POST', '/v1/me/top-ups', { as: { user: userId }, body: { packageCode }, idempotencyKey: uniqueKey('manual') }), 202, 'manual');
    // The worker goes away as soon as the gateway has booked the payment (its answer was lost: the activity retries).
    await waitFor(
      async () => {
        const order = await stack.db.order.findFirst({ where: { userId } });
        return order && gateway.trades.has(order.id) ? order : undefined;
      },
      90_000,
      'the payment booked',
    );
    expect(gateway.loseNextChargeAnswer.has(token)).toBe(false); // the booked charge's answer was the lost one
    await stack.stopWorker();
    const refillBefore = await stack.db.topUpRefill.findUniqueOrThrow({ where: { id: started.id } });
    await stack.startWorker();
    const refill = await waitFor(async () => {
      const row = await stack.db.topUpRefill.findUniqueOrThrow({ where: { id: started.id } });
      return row.outcome === 'succeeded' ? row : undefined;
    }, 90_000, 'the top-up to succeed');
    expect(refillBefore.orderId === null || refillBefore.orderId === refill.orderId).toBe(true);
    await waitForOrder(stack, refill.orderId!, ['completed']);
    expect(await provisionedState(stack, refill.orderId!)).toEqual({ periods: 1, payments: 1, grants: 1 });
    expect([...gateway.trades.values()].filter((trade) => trade.out_trade_no === refill.orderId)).toHaveLength(1);
    expect([...gateway.charges.values()].filter((answer) => answer.out_trade_no === refill.orderId && answer.status === 'approved')).toHaveLength(1);
    expect(await availableCredits(stack.db, userId)).toBe(PACKAGE_CREDITS);
  });

  it("a refund of a refill's order revokes its unspent credits, as for any other order", async () => {
    const userId = await userWithToken('refund');
    const started = expectStatus(await stack.call<{ id: string }>('POST', '/v1/me/top-ups', { as: { user: userId }, body: { packageCode }, idempotencyKey: uniqueKey('manual') }), 202, 'manual');
    const refill = await waitFor(async () => {
      const row = await stack.db.topUpRefill.findUniqueOrThrow({ where: { id: started.id } });
      return row.outcome === 'succeeded' ? row : undefined;
    }, 90_000, 'the top-up to succeed');
    await waitForOrder(stack, refill.orderId!, ['completed']);
    expect(await availableCredits(stack.db, userId)).toBe(PACKAGE_CREDITS);
    expectStatus(await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat', quantity: 1 } }), 201, 'spend some');
    const spent = PACKAGE_CREDITS - (await availableCredits(stack.db, userId));
    expect(spent).toBeGreaterThan(0);

    const refund = expectStatus(await stack.call<{ id: string }>('POST', `/v1/admin/orders/${refill.orderId}/refund`, { as: 'admin', body: { reason: 'top-up refunded' } }), 202, 'refund');
    await waitFor(async () => (await stack.db.orderRefund.findUniqueOrThrow({ where: { id: refund.id } })).status === 'succeeded', 90_000, 'the refund to succeed');
    expect(await availableCredits(stack.db, userId)).toBe(0);
    const refunded = await stack.db.event.findFirstOrThrow({ where: { userId, type: 'order.refunded' } });
    expect((refunded.payload as { revokedGrantIds: string[] }).revokedGrantIds).toHaveLength(1);
  });
});
