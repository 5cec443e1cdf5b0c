/**
 * The balance-low rule end to end (modules/events/rules/balance-low.ts): `balance.low` is recorded when the balance
 * FALLS below BALANCE_LOW_THRESHOLD (10 here, the default), once per fall; a balance that never was at
 * or above the threshold has not fallen. Through the API, so the rule is checked where it is applied:
 * in TypeScript (grants, activation) and in the SQL functions (deduct, hold).
 */
import { randomUUID } from 'node:crypto';
import { activatePackage } from '../modules/lifecycle/subjects';
import { expectLedgerInvariant, newUserId, startStack, type TestStack } from './support/stack';

let stack: TestStack;
let fiveCredits: string;

beforeAll(async () => {
  stack = await startStack();
  fiveCredits = `five_${randomUUID().slice(0, 8)}`;
  const created = await stack.call('POST', '/v1/admin/packages', {
    as: 'admin',
    body: { code: fiveCredits, name: 'Five credits', type: 'credits', creditsAmount: 5, durationDays: 30, priceMinor: 0, currency: 'USD' },
  });
  expect(created.status).toBe(201);
});
afterAll(async () => {
  await stack?.close();
});

const lowEvents = (userId: string) => stack.db.event.count({ where: { userId, type: 'balance.low' } });

async function grant(userId: string, packageCode: string, startsAt?: Date) {
  const answer = await stack.call('POST', `/v1/admin/users/${userId}/packages`, {
    as: 'admin',
    body: { packageCode, ...(startsAt ? { startsAt: startsAt.toISOString() } : {}) },
  });
  expect(answer.status).toBe(201);
  return answer.body as { id: string; status: string };
}

/** Spends `credits` credits (ai_chat costs 1 per unit) through the deduct function. */
async function deduct(userId: string, credits: number) {
  const answer = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat', quantity: credits } });
  expect(answer.status).toBe(201);
}

async function available(userId: string): Promise<number> {
  return (await stack.call('GET', '/v1/me/credits', { as: { user: userId } })).body.availableCredits;
}

it('a new user granted less than the threshold gets no balance.low, nor when spending from there', async () => {
  const userId = newUserId('low-five');
  await grant(userId, fiveCredits);
  expect(await available(userId)).toBe(5);
  expect(await lowEvents(userId)).toBe(0);
  await deduct(userId, 1); // the SQL deduct: still never at or above
  const hold = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity: 2, holdSeconds: 60 } });
  expect(hold.status).toBe(201); // the SQL hold: the same
  expect(await available(userId)).toBe(2);
  expect(await lowEvents(userId)).toBe(0);
  await expectLedgerInvariant(stack.db, userId);
});

it('a new user granted a package that starts in an hour gets no balance.low; once it starts, a fall is one', async () => {
  const userId = newUserId('low-later');
  const pending = await grant(userId, 'monthly_membership', new Date(Date.now() + 3_600_000));
  expect(pending.status).toBe('pending');
  expect(await available(userId)).toBe(0);
  expect(await lowEvents(userId)).toBe(0);

  // Its start comes (moved into the past, as the passing hour would) and the timer's step activates it:
  // the rise to 100 is noted, so the next fall below the threshold counts.
  await stack.db.userPackage.update({ where: { id: pending.id }, data: { startsAt: new Date(Date.now() - 60_000) } });
  await activatePackage(stack.db, pending.id);
  expect(await available(userId)).toBe(100);
  await deduct(userId, 95);
  expect(await lowEvents(userId)).toBe(1);
});

it('records one balance.low per fall: none while below, one more after a top-up above and a new fall', async () => {
  const userId = newUserId('low-falls');
  await grant(userId, 'monthly_membership'); // 100
  expect(await lowEvents(userId)).toBe(0);
  await deduct(userId, 90); // 10: at the threshold, not below
  expect(await lowEvents(userId)).toBe(0);
  await deduct(userId, 1); // 9: fell
  expect(await lowEvents(userId)).toBe(1);
  await deduct(userId, 4); // 5: still below
  expect(await lowEvents(userId)).toBe(1);

  await grant(userId, 'monthly_membership'); // 105: back above (a rise is never an event)
  expect(await lowEvents(userId)).toBe(1);
  const hold = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity: 97, holdSeconds: 60 } });
  expect(hold.status).toBe(201); // 8: fell again, by a hold this time
  expect(await lowEvents(userId)).toBe(2);
  const [second] = await stack.db.event.findMany({ where: { userId, type: 'balance.low' }, orderBy: { seq: 'desc' }, take: 1 });
  expect(second!.payload).toEqual({ availableCredits: 8, threshold: 10 });
  await expectLedgerInvariant(stack.db, userId);
});
