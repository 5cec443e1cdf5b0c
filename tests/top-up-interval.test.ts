/**
 * Interval top-up rules on the real stack (PostgreSQL, Temporal, the worker, the gateway simulator): the
 * rule's Temporal Schedule follows the rule (created, paused, resumed, deleted; repaired by retrying the
 * call), each month is one refill however many runs the Schedule fires (catch-up, manual triggers), and
 * runs, manual top-ups at once never go above the rule's monthly cap.
 */
import { Client, Connection, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { withSignature } from '../modules/payments/rules/gateway-signature';
import { startGatewaySimulator, type GatewaySimulator } from '../scripts/services/gateway-simulator';
import { ensureSearchAttributes } from '../worker/search-attributes';
import { availableCredits } from '../modules/credits';
import { INTERVAL_CATCHUP_WINDOW, monthlyUse, refillDue, syncRuleSchedule, topUpRuleScheduleId } from '../modules/topups';
import { BillingError } from '../platform/errors';
import type { topUpIntervalWorkflow } from '../workflows/top-up-interval';
import { createPackage, expectStatus, uniqueKey } from './support/fixtures';
import { createGatewayChannel } from './support/orders';
import { newUserId, startStack, type TestStack } from './support/stack';
import { waitFor } from './support/wait';
import { keepHistory } from './workflows/record-history';

const account = { merchantId: 'm-interval-top-ups', secret: 'a-secret-of-at-least-sixteen' };
const PACKAGE_CREDITS = 30;
const PRICE = 1000;
let stack: TestStack;
let gateway: GatewaySimulator;
let channel: string;
let packageCode: string;

interface Rule {
  id: string;
  kind: 'threshold' | 'interval';
  thresholdCredits: number | null;
  dayOfMonth: number | null;
  status: string;
}
interface Refill {
  id: string;
  ruleId: string | null;
  trigger: string;
  status: string;
  outcome: string;
  month: string;
}

beforeAll(async () => {
  stack = await startStack({ withWorker: false });
  await ensureSearchAttributes(stack.temporal.connection as Connection, 'default');
  await stack.startWorker();
  gateway = await startGatewaySimulator(account);
  channel = uniqueKey('gwi');
  await createGatewayChannel(stack, { code: channel, name: 'Card (gateway)', gatewayUrl: gateway.url, ...account });
  packageCode = (await createPackage(stack, { type: 'credits', creditsAmount: PACKAGE_CREDITS, priceMinor: PRICE, currency: 'USD' })).code;
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

async function userWithMethod(label: string): Promise<string> {
  const userId = newUserId(`tui-${label}`);
  expectStatus(await stack.call('POST', '/v1/me/payment-methods', { as: { user: userId }, body: { channel, token: await gatewayToken() } }), 201, 'save token');
  return userId;
}

function createIntervalRule(userId: string, caps: Record<string, number>, key = uniqueKey('rule')) {
  return stack.call<Rule>('POST', '/v1/me/top-up-rules', { as: { user: userId }, body: { kind: 'interval', dayOfMonth: 7, packageCode, ...caps }, idempotencyKey: key });
}

function scheduleOf(ruleId: string) {
  return stack.temporal.schedule.getHandle(topUpRuleScheduleId(ruleId));
}

/**
 * Fires the Schedule `count` times, one run each. A Schedule names a run by its start time to the
 * second, so a trigger in the same second as the previous run is the same run: each waits for the clock
 * to pass the previous run's second (a condition, not a fixed delay).
 */
async function triggerRuns(ruleId: string, count: number): Promise<void> {
  for (let run = 1; run <= count; run += 1) {
    const { info } = await scheduleOf(ruleId).describe();
    const previous = info.recentActions.at(-1)?.takenAt;
    if (previous) await waitFor(() => Math.floor(Date.now() / 1000) > Math.floor(previous.getTime() / 1000), 10_000, 'the next second');
    await scheduleOf(ruleId).trigger(ScheduleOverlapPolicy.ALLOW_ALL);
    await waitFor(async () => (await scheduleOf(ruleId).describe()).info.recentActions.length >= run, 60_000, `schedule run ${run}`);
  }
}

/** Every launcher run the Schedule started so far, once each has finished: the refill id each answered. */
async function finishedRuns(ruleId: string, count: number): Promise<Array<string | null>> {
  const actions = await waitFor(
    async () => {
      const { info } = await scheduleOf(ruleId).describe();
      return info.recentActions.length >= count ? info.recentActions : undefined;
    },
    60_000,
    `${count} schedule runs`,
  );
  return Promise.all(
    actions.map(async (action) => (await stack.temporal.workflow.getHandle<typeof topUpIntervalWorkflow>(action.action.workflow.workflowId).result()).refillId),
  );
}

/** The first run's history, kept for the replay tests when RECORD_HISTORIES names a folder. */
async function keepFirstRun(ruleId: string, name: string): Promise<void> {
  const [first] = (await scheduleOf(ruleId).describe()).info.recentActions;
  await keepHistory(stack.temporal, first!.action.workflow.workflowId, name);
}

/** The gateway's charges of the user's orders (keyed by idempotency key: a replay is not a new one). */
async function chargesOf(userId: string): Promise<number> {
  const orders = new Set((await stack.db.order.findMany({ where: { userId }, select: { id: true } })).map((o) => o.id));
  return [...gateway.charges.values()].filter((charge) => orders.has(charge.out_trade_no ?? '')).length;
}

async function refillsOf(userId: string): Promise<Refill[]> {
  return expectStatus(await stack.call<{ items: Refill[] }>('GET', '/v1/me/top-ups?limit=100', { as: { user: userId } }), 200, 'refills').items;
}

async function settled(userId: string, count: number): Promise<Refill[]> {
  return waitFor(
    async () => {
      const refills = await refillsOf(userId);
      return refills.length >= count && refills.every((r) => r.status === 'capped' || ['succeeded', 'failed'].includes(r.outcome)) ? refills : undefined;
    },
    90_000,
    `${count} settled refills of ${userId}`,
  );
}

describe('interval rules: validation', () => {
  it.each([
    ['an interval rule without dayOfMonth', { kind: 'interval' }],
    ['an interval rule on a day not every month has (29)', { kind: 'interval', dayOfMonth: 29 }],
    ['an interval rule on day 0', { kind: 'interval', dayOfMonth: 0 }],
    ['an interval rule with a threshold too', { kind: 'interval', dayOfMonth: 1, thresholdCredits: 10 }],
    ['a threshold rule with a day', { thresholdCredits: 10, dayOfMonth: 1 }],
    ['a threshold rule without its threshold', { kind: 'threshold' }],
  ])('refuses %s: 400 VALIDATION_FAILED, nothing written', async (_label, fields) => {
    const userId = newUserId('tui-invalid');
    const answer = await stack.call('POST', '/v1/me/top-up-rules', { as: { user: userId }, body: { packageCode, maxTopUpsPerMonth: 1, ...fields }, idempotencyKey: uniqueKey('bad') });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('VALIDATION_FAILED');
    expect(await stack.db.topUpRule.count({ where: { userId } })).toBe(0);
  });

  it('refuses a cap below one purchase as for threshold rules (TOP_UP_CAP_TOO_LOW)', async () => {
    const answer = await createIntervalRule(newUserId('tui-cap'), { maxAmountMinorPerMonth: PRICE - 1 });
    expect(answer.status).toBe(422);
    expect((answer.body as any).error.code).toBe('TOP_UP_CAP_TOO_LOW');
  });
});

describe('interval rules: the Schedule follows the rule', () => {
  it('creating the rule creates its Schedule (day 7, 00:00 UTC, the launcher), pause/resume pause/unpause it, delete deletes it', async () => {
    const userId = await userWithMethod('life');
    const rule = expectStatus(await createIntervalRule(userId, { maxTopUpsPerMonth: 1 }), 201, 'rule');
    expect(rule).toMatchObject({ kind: 'interval', dayOfMonth: 7, thresholdCredits: null, status: 'active' });

    const description = await scheduleOf(rule.id).describe();
    expect(description.spec.calendars).toEqual([expect.objectContaining({ dayOfMonth: [{ start: 7, end: 7, step: 1 }], hour: [{ start: 0, end: 0, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] })]);
    expect(description.spec.timezone).toBe('UTC');
    expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'topUpIntervalWorkflow', taskQueue: stack.taskQueue, args: [{ ruleId: rule.id, userId }] });
    expect(description.policies).toMatchObject({ overlap: ScheduleOverlapPolicy.ALLOW_ALL });
    expect(description.policies.catchupWindow).toBe(7 * 24 * 60 * 60 * 1000);
    expect(INTERVAL_CATCHUP_WINDOW).toBe('7 days');
    expect(description.state.paused).toBe(false);
    const next = description.info.nextActionTimes[0]!;
    expect([next.getUTCDate(), next.getUTCHours(), next.getUTCMinutes()]).toEqual([7, 0, 0]);

    expectStatus(await stack.call('POST', `/v1/me/top-up-rules/${rule.id}/pause`, { as: { user: userId }, body: {}, idempotencyKey: uniqueKey('pause') }), 200, 'pause');
    expect((await scheduleOf(rule.id).describe()).state.paused).toBe(true);
    expectStatus(await stack.call('POST', `/v1/me/top-up-rules/${rule.id}/resume`, { as: { user: userId }, body: {}, idempotencyKey: uniqueKey('resume') }), 200, 'resume');
    expect((await scheduleOf(rule.id).describe()).state.paused).toBe(false);
    // An admin's pause moves it too.
    expectStatus(await stack.call('POST', `/v1/admin/users/${userId}/top-up-rules/${rule.id}/pause`, { as: 'admin', body: {}, idempotencyKey: uniqueKey('apause') }), 200, 'admin pause');
    expect((await scheduleOf(rule.id).describe()).state.paused).toBe(true);

    expectStatus(await stack.call('DELETE', `/v1/me/top-up-rules/${rule.id}`, { as: { user: userId }, idempotencyKey: uniqueKey('delete') }), 200, 'delete');
    await expect(scheduleOf(rule.id).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });

  it('a threshold rule has no Schedule', async () => {
    const userId = newUserId('tui-threshold');
    const rule = expectStatus(await stack.call<Rule>('POST', '/v1/me/top-up-rules', { as: { user: userId }, body: { thresholdCredits: 5, packageCode, maxTopUpsPerMonth: 1 }, idempotencyKey: uniqueKey('t') }), 201, 'rule');
    expect(rule).toMatchObject({ kind: 'threshold', thresholdCredits: 5, dayOfMonth: null });
    await expect(scheduleOf(rule.id).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });

  it('concurrent retries of one create make one rule and one Schedule; a Schedule lost after the commit is repaired by the same call again', async () => {
    const userId = await userWithMethod('repair');
    const key = uniqueKey('rule');
    const answers = await Promise.all([createIntervalRule(userId, { maxTopUpsPerMonth: 1 }, key), createIntervalRule(userId, { maxTopUpsPerMonth: 1 }, key)]);
    const ok = answers.filter((a) => a.status === 201);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const other of answers.filter((a) => a.status !== 201)) expect(other.status).toBe(409); // the other still in flight: retry
    const ruleId = ok[0]!.body.id;
    expect(await stack.db.topUpRule.count({ where: { userId } })).toBe(1);
    expect((await scheduleOf(ruleId).describe()).state.paused).toBe(false);

    // The rule committed but its Schedule is missing (as when Temporal failed right after the commit).
    await scheduleOf(ruleId).delete();
    const retried = expectStatus(await createIntervalRule(userId, { maxTopUpsPerMonth: 1 }, key), 201, 'retry');
    expect(retried.id).toBe(ruleId);
    expect((await scheduleOf(ruleId).describe()).spec.calendars).toHaveLength(1);
  });
});

describe('interval rules: Temporal failing after the commit', () => {
  it('answers SERVICE_UNAVAILABLE (never a silent success) when the Schedule cannot be written, and the next sync writes it', async () => {
    const userId = await userWithMethod('down');
    const rule = expectStatus(await createIntervalRule(userId, { maxTopUpsPerMonth: 1 }), 201, 'rule');
    await scheduleOf(rule.id).delete(); // as if Temporal had failed right after the rule's commit

    // A real client whose connection is closed: every Schedule call fails, as with Temporal down.
    const connection = await Connection.connect({ address: (stack.temporal.connection as Connection).options.address });
    await connection.close();
    const down = new Client({ connection, namespace: stack.temporal.options.namespace });
    const failed = await syncRuleSchedule({ db: stack.db, temporal: down, taskQueue: stack.taskQueue }, rule).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(BillingError);
    expect((failed as BillingError).code).toBe('SERVICE_UNAVAILABLE');
    await expect(scheduleOf(rule.id).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    // A threshold rule's writes never wait on Temporal.
    await expect(syncRuleSchedule({ db: stack.db, temporal: down, taskQueue: stack.taskQueue }, { ...rule, kind: 'threshold' })).resolves.toBeUndefined();

    await syncRuleSchedule({ db: stack.db, temporal: stack.temporal, taskQueue: stack.taskQueue }, rule);
    expect((await scheduleOf(rule.id).describe()).state.paused).toBe(false);
  });
});

describe('interval rules: one refill per month, under the cap', () => {
  it('the Schedule triggered twice in one month starts one refill: one order, one charge, the credits granted once; no threshold refill', async () => {
    const userId = await userWithMethod('twice');
    const rule = expectStatus(await createIntervalRule(userId, { maxTopUpsPerMonth: 3 }), 201, 'rule');
    expect(await refillDue(stack.db, userId)).toBeUndefined(); // 0 credits, but an interval rule never refills on a crossing

    await triggerRuns(rule.id, 2);
    const runs = await finishedRuns(rule.id, 2);
    expect(runs).toHaveLength(2);
    expect(new Set(runs).size).toBe(1);
    const refillId = runs[0]!;
    expect(refillId).toMatch(new RegExp(`^top-up-${rule.id}-\\d{4}-\\d{2}$`));
    await keepFirstRun(rule.id, 'interval-run-started-refill');

    const [refill, ...others] = await settled(userId, 1);
    expect(others).toEqual([]);
    expect(refill).toMatchObject({ id: refillId, ruleId: rule.id, trigger: 'interval', status: 'claimed', outcome: 'succeeded' });
    expect(refillId.endsWith(refill!.month)).toBe(true);
    expect(await stack.db.order.count({ where: { userId } })).toBe(1);
    // `succeeded`: paid and handed to the order, which grants the credits (once) right after.
    await waitFor(async () => (await availableCredits(stack.db, userId)) === PACKAGE_CREDITS, 60_000, 'the credits granted');
    expect(await stack.db.userPackage.count({ where: { userId } })).toBe(1);
    expect(await chargesOf(userId)).toBe(1);
    expect(await monthlyUse(stack.db, rule.id, refill!.month)).toEqual({ topUps: 1, amountMinor: PRICE });
  });

  it('a run while the rule is paused (its Schedule out of step) claims nothing', async () => {
    const userId = await userWithMethod('paused');
    const rule = expectStatus(await createIntervalRule(userId, { maxTopUpsPerMonth: 3 }), 201, 'rule');
    // As a refill that gave up pauses the rule: the row only, the Schedule still runs.
    await stack.db.topUpRule.update({ where: { id: rule.id }, data: { status: 'paused', pausedReason: 'payment_declined' } });
    await scheduleOf(rule.id).trigger(ScheduleOverlapPolicy.ALLOW_ALL);
    expect(await finishedRuns(rule.id, 1)).toEqual([null]);
    await keepFirstRun(rule.id, 'interval-run-rule-paused');
    expect(await refillsOf(userId)).toEqual([]);
  });

  it('Schedule runs and manual top-ups at once never go above the monthly cap', async () => {
    const userId = await userWithMethod('cap');
    const CAP = 2;
    const rule = expectStatus(await createIntervalRule(userId, { maxTopUpsPerMonth: CAP }), 201, 'rule');
    const manual = Array.from({ length: 3 }, (_, i) => stack.call<Refill>('POST', '/v1/me/top-ups', { as: { user: userId }, body: { packageCode }, idempotencyKey: uniqueKey(`m${i}`) }));
    const [answers] = await Promise.all([Promise.all(manual), triggerRuns(rule.id, 3)]);
    for (const answer of answers) expect([202, 409]).toContain(answer.status);
    await finishedRuns(rule.id, 3);

    const refills = await settled(userId, answers.filter((a) => a.status === 202).length + 1);
    const claimed = refills.filter((r) => r.status === 'claimed');
    expect(claimed).toHaveLength(CAP);
    expect(refills.filter((r) => r.trigger === 'interval')).toHaveLength(1);
    expect(claimed.every((r) => r.outcome === 'succeeded')).toBe(true);
    expect(await monthlyUse(stack.db, rule.id, claimed[0]!.month)).toEqual({ topUps: CAP, amountMinor: CAP * PRICE });
    expect(await stack.db.order.count({ where: { userId } })).toBe(CAP);
    await waitFor(async () => (await availableCredits(stack.db, userId)) === CAP * PACKAGE_CREDITS, 60_000, 'the credits granted');
    expect(await stack.db.userPackage.count({ where: { userId } })).toBe(CAP);
    expect(await chargesOf(userId)).toBe(CAP);
  });
});
