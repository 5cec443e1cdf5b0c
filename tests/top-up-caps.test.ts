/**
 * A rule's monthly caps under concurrency (modules/topups/refills.ts): claims of one rule take turns on
 * its month's counter row, so 20 refills at once never exceed the caps; a refill claims at most once
 * however often it is retried; a released slot can be claimed again.
 */
import { randomUUID } from 'node:crypto';
import { newUserId, startStack, type TestStack } from './support/stack';
import { createPackage } from './support/fixtures';
import { claimRefill, failRefill, monthlyUse, releaseRefill } from '../modules/topups';
import { refillWorkflowId } from '../modules/topups/rules/caps';

let stack: TestStack;
let packageCode: string;
const PRICE = 1000;
const AT = new Date('2027-03-15T10:00:00.000Z');

beforeAll(async () => {
  stack = await startStack({ withWorker: false });
  packageCode = (await createPackage(stack, { type: 'credits', creditsAmount: 50, priceMinor: PRICE, currency: 'USD' })).code;
});
afterAll(async () => {
  await stack?.close();
});

async function rule(caps: { maxTopUpsPerMonth?: number; maxAmountMinorPerMonth?: number }): Promise<string> {
  const created = await stack.call('POST', `/v1/admin/users/${newUserId('caps')}/top-up-rules`, { as: 'admin', body: { thresholdCredits: 10, packageCode, ...caps } });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

function crossings(ruleId: string, count: number): string[] {
  return Array.from({ length: count }, () => refillWorkflowId(ruleId, randomUUID()));
}

describe('monthly caps', () => {
  it('20 concurrent crossings against a cap of 3 refills: exactly 3 claim a slot', async () => {
    const ruleId = await rule({ maxTopUpsPerMonth: 3 });
    const claims = await Promise.all(crossings(ruleId, 20).map((id) => claimRefill(stack.db, id, ruleId, AT)));
    expect(claims.filter((c) => c?.status === 'claimed')).toHaveLength(3);
    expect(claims.filter((c) => c?.status === 'capped')).toHaveLength(17);
    expect(await monthlyUse(stack.db, ruleId, '2027-03')).toEqual({ topUps: 3, amountMinor: 3 * PRICE });
  });

  it('20 concurrent crossings against an amount cap of 2.5 purchases: exactly 2 claim a slot', async () => {
    const ruleId = await rule({ maxAmountMinorPerMonth: 2500 });
    const claims = await Promise.all(crossings(ruleId, 20).map((id) => claimRefill(stack.db, id, ruleId, AT)));
    expect(claims.filter((c) => c?.status === 'claimed')).toHaveLength(2);
    expect(await monthlyUse(stack.db, ruleId, '2027-03')).toEqual({ topUps: 2, amountMinor: 2 * PRICE });
  });

  it('one refill claimed 20 times at once takes one slot and answers the same each time', async () => {
    const ruleId = await rule({ maxTopUpsPerMonth: 5 });
    const [refillId] = crossings(ruleId, 1);
    const claims = await Promise.all(Array.from({ length: 20 }, () => claimRefill(stack.db, refillId!, ruleId, AT)));
    expect(new Set(claims.map((c) => `${c?.id} ${c?.status}`))).toEqual(new Set([`${refillId} claimed`]));
    expect(await monthlyUse(stack.db, ruleId, '2027-03')).toEqual({ topUps: 1, amountMinor: PRICE });
    expect(await stack.db.topUpRefill.count({ where: { ruleId } })).toBe(1);
  });

  it('a released slot can be claimed again; releasing twice gives back once', async () => {
    const ruleId = await rule({ maxTopUpsPerMonth: 1 });
    const [first, second] = crossings(ruleId, 2);
    expect((await claimRefill(stack.db, first!, ruleId, AT))?.status).toBe('claimed');
    expect((await claimRefill(stack.db, second!, ruleId, AT))?.status).toBe('capped');
    expect((await releaseRefill(stack.db, first!)).status).toBe('released');
    expect((await releaseRefill(stack.db, first!)).status).toBe('released');
    expect(await monthlyUse(stack.db, ruleId, '2027-03')).toEqual({ topUps: 0, amountMinor: 0 });
    expect((await claimRefill(stack.db, refillWorkflowId(ruleId, randomUUID()), ruleId, AT))?.status).toBe('claimed');
  });

  it('counts by calendar month in UTC', async () => {
    const ruleId = await rule({ maxTopUpsPerMonth: 1 });
    const [lastSecond, nextMonth] = crossings(ruleId, 2);
    expect((await claimRefill(stack.db, lastSecond!, ruleId, new Date('2027-01-31T23:59:59.999Z')))?.month).toBe('2027-01');
    const february = await claimRefill(stack.db, nextMonth!, ruleId, new Date('2027-02-01T00:00:00.000Z'));
    expect([february?.month, february?.status]).toEqual(['2027-02', 'claimed']);
  });

  it('a paused rule claims nothing', async () => {
    const ruleId = await rule({ maxTopUpsPerMonth: 3 });
    const userId = (await stack.db.topUpRule.findUniqueOrThrow({ where: { id: ruleId } })).userId;
    expect((await stack.call('POST', `/v1/admin/users/${userId}/top-up-rules/${ruleId}/pause`, { as: 'admin', body: {} })).status).toBe(200);
    expect(await claimRefill(stack.db, refillWorkflowId(ruleId, randomUUID()), ruleId, AT)).toBeUndefined();
    expect(await monthlyUse(stack.db, ruleId, '2027-03')).toEqual({ topUps: 0, amountMinor: 0 });
  });
});

describe('GET /v1/me/top-ups', () => {
  it("lists the user's refills, newest first, and no one else's", async () => {
    const ruleId = await rule({ maxTopUpsPerMonth: 1 });
    const userId = (await stack.db.topUpRule.findUniqueOrThrow({ where: { id: ruleId } })).userId;
    const [first, second] = crossings(ruleId, 2);
    await claimRefill(stack.db, first!, ruleId, AT);
    await claimRefill(stack.db, second!, ruleId, AT);
    const listed = await stack.call('GET', '/v1/me/top-ups', { as: { user: userId } });
    expect(listed.status).toBe(200);
    const items = listed.body.items as Array<{ id: string; status: string; amountMinor: number; createdAt: string }>;
    expect(items.map((r) => [r.id, r.status, r.amountMinor]).sort()).toEqual([
      [first, 'claimed', PRICE],
      [second, 'capped', PRICE],
    ].sort());
    expect(items[0]!.createdAt >= items[1]!.createdAt).toBe(true);
    expect((await stack.call('GET', '/v1/me/top-ups', { as: { user: newUserId('nobody') } })).body).toEqual({ items: [], nextCursor: null });
    const firstPage = await stack.call('GET', '/v1/me/top-ups?limit=1', { as: { user: userId } });
    const secondPage = await stack.call('GET', `/v1/me/top-ups?limit=1&cursor=${encodeURIComponent(firstPage.body.nextCursor)}`, { as: { user: userId } });
    expect([...firstPage.body.items, ...secondPage.body.items].map((r: { id: string }) => r.id)).toEqual(items.map((r) => r.id));
    expect(secondPage.body.nextCursor).toBeNull();
  });
});

describe('a refill that gives up', () => {
  it('gives its slot back, pauses the rule and records top_up.failed, once', async () => {
    const ruleId = await rule({ maxTopUpsPerMonth: 1 });
    const [refillId] = crossings(ruleId, 1);
    expect((await claimRefill(stack.db, refillId!, ruleId, AT))?.status).toBe('claimed');
    const orderId = randomUUID();
    expect((await failRefill(stack.db, { refillId: refillId!, orderId })).status).toBe('released');
    expect((await failRefill(stack.db, { refillId: refillId!, orderId })).status).toBe('released');
    expect(await monthlyUse(stack.db, ruleId, '2027-03')).toEqual({ topUps: 0, amountMinor: 0 });
    expect(await stack.db.topUpRule.findUniqueOrThrow({ where: { id: ruleId } })).toMatchObject({ status: 'paused', pausedReason: 'payment_declined' });
    const events = await stack.db.event.findMany({ where: { type: 'top_up.failed', payload: { path: ['refillId'], equals: refillId! } } });
    expect(events.map((event) => event.payload)).toEqual([{ ruleId, refillId, orderId, reason: 'payment_declined', rulePaused: true, trigger: 'threshold' }]);
  });
});
