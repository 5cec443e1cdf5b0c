/**
 * Group commit of deducts (modules/credits/deduct-batch.ts, `deduct_credits_batch`): deducts that arrive while
 * every slot is busy leave together in one statement and one transaction, with every guarantee of a
 * deduct sent alone. With one slot (maxGroupsInFlight 1), deducts sent in the same tick are grouped
 * deterministically: the first leaves alone, the rest wait for it and leave as one group.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { planSpend, type GrantBalance } from '../modules/credits/rules/burn-down';
import { BillingError } from '../platform/errors';
import { createDatabase, type Database } from '../platform/database';
import { deductAlone, deductArguments, deductCredits, type DeductRequest } from '../modules/credits/spend';
import { batchArguments, DEDUCT_BATCH_STATEMENT, DeductBatcher } from '../modules/credits/deduct-batch';
import { sqlPool } from '../platform/database';
import { loadCandidateGrants } from '../modules/credits/grants';
import { expectLedgerInvariant, grantCredits, newUserId } from './support/stack';

let db: Database;
beforeAll(() => {
  db = createDatabase(process.env.TEST_DATABASE_URL!, 8);
});
afterAll(async () => {
  await db?.$disconnect();
});

const key = (k: string = randomUUID()) => ({ scope: 'group-commit-test', key: k, requestHash: `hash-${k}` });
const oneSlot = () => new DeductBatcher(db, { maxGroupsInFlight: 1, maxGroupSize: 32 });
const chat = (userId: string, quantity = 1): DeductRequest => ({ userId, actionKey: 'ai_chat', quantity }); // 1 credit per unit

/** Settles every promise; the answers or the refusals' codes, in order. */
async function outcomes<T>(calls: Array<Promise<T>>): Promise<Array<T | string>> {
  return (await Promise.allSettled(calls)).map((s) => {
    if (s.status === 'fulfilled') return s.value;
    if (s.reason instanceof BillingError) return s.reason.code;
    throw s.reason;
  });
}

it('never overspends a balance under concurrent grouped deducts, and keeps the ledger whole', async () => {
  const userId = newUserId('group');
  await grantCredits(db, userId, 10, { priority: 1 });
  const batcher = new DeductBatcher(db, { maxGroupsInFlight: 2, maxGroupSize: 8 });
  const results = await outcomes(Array.from({ length: 30 }, () => deductCredits(db, chat(userId), key(), 'test', batcher)));
  expect(results.filter((r) => typeof r !== 'string')).toHaveLength(10);
  expect(results.filter((r) => r === 'INSUFFICIENT_CREDITS')).toHaveLength(20);
  expect(batcher.written.groups).toBeGreaterThan(0);
  expect(await db.consumptionRecord.count({ where: { userId } })).toBe(10);
  await expectLedgerInvariant(db, userId);
});

it('keeps one user\'s deducts in arrival order inside a group, among other users\' deducts', async () => {
  const [a, b] = [newUserId('order-a'), newUserId('order-b')];
  await grantCredits(db, a, 3, { priority: 1 });
  await grantCredits(db, b, 3, { priority: 1 });
  const batcher = oneSlot();
  const first = deductCredits(db, chat(b, 1), key(), 'test', batcher); // alone: the slot is now busy
  // These four form one group; sorted by user, each user's own order must hold: 2 then 2 (refused) then 1.
  const grouped = [chat(a, 2), chat(b, 2), chat(a, 2), chat(a, 1)].map((request) => deductCredits(db, request, key(), 'test', batcher));
  const [alone, ...rest] = await outcomes([first, ...grouped]);
  expect(typeof alone).toBe('object');
  expect(rest.map((r) => (typeof r === 'string' ? r : r.body.creditsCost))).toEqual([2, 2, 'INSUFFICIENT_CREDITS', 1]);
  expect(batcher.written).toMatchObject({ alone: 1, groups: 1, grouped: 4, groupsRetriedAlone: 0 });
  await expectLedgerInvariant(db, a);
  await expectLedgerInvariant(db, b);
});

it('answers a key repeated inside one group once, and refuses the key reused for another request', async () => {
  const userId = newUserId('group-key');
  await grantCredits(db, userId, 100, { priority: 1 });
  const batcher = oneSlot();
  const repeated = key();
  const calls = [
    deductCredits(db, chat(userId, 5), key(), 'test', batcher), // alone
    deductCredits(db, chat(userId, 3), repeated, 'test', batcher),
    deductCredits(db, chat(userId, 3), repeated, 'test', batcher),
    deductCredits(db, chat(userId, 4), { ...repeated, requestHash: 'another request' }, 'test', batcher),
  ];
  const [, first, again, reused] = await outcomes(calls);
  expect(batcher.written.groups).toBe(1);
  if (!first || !again || typeof first === 'string' || typeof again === 'string') throw new Error(`unexpected refusal ${first} ${again}`);
  expect(first.replayed).toBe(false);
  expect(again.replayed).toBe(true);
  expect(again.bodyText).toBe(first.bodyText);
  expect(reused).toBe('IDEMPOTENCY_KEY_REUSED');
  expect(await db.consumptionRecord.count({ where: { userId } })).toBe(2);
  await expectLedgerInvariant(db, userId);
});

it('leaves a refused deduct without rows (its claim included) while the rest of its group commits', async () => {
  const [rich, poor] = [newUserId('rich'), newUserId('poor')];
  await grantCredits(db, rich, 50, { priority: 1 });
  const batcher = oneSlot();
  const keys = [key(), key(), key(), key()];
  const calls = [
    deductCredits(db, chat(rich), keys[0]!, 'test', batcher), // alone
    deductCredits(db, chat(rich, 2), keys[1]!, 'test', batcher),
    deductCredits(db, chat(poor, 1), keys[2]!, 'test', batcher),
    deductCredits(db, { userId: rich, actionKey: 'no_such_action', quantity: 1 }, keys[3]!, 'test', batcher),
  ];
  const [, ok, short, unknown] = await outcomes(calls);
  expect(typeof ok).toBe('object');
  expect([short, unknown]).toEqual(['INSUFFICIENT_CREDITS', 'NOT_FOUND']);
  const claims = await db.idempotencyRecord.findMany({ where: { scope: 'group-commit-test', key: { in: keys.map((k) => k.key) } } });
  expect(claims.map((c) => c.key).sort()).toEqual([keys[0]!.key, keys[1]!.key].sort());
  expect(await db.consumptionRecord.count({ where: { userId: { in: [rich, poor] } } })).toBe(2);
  await expectLedgerInvariant(db, rich);
});

it('sends every deduct of a failed group again alone, each applied exactly once', async () => {
  const userId = newUserId('fallback');
  await grantCredits(db, userId, 100, { priority: 1 });
  const batcher = oneSlot();
  const send = (request: DeductRequest, metadata?: string) => {
    const values = deductArguments(request, key(), 'test', randomUUID(), new Date(), 10);
    if (metadata !== undefined) values[7] = metadata; // not JSON: the cast fails inside deduct_credits (not a business refusal)
    return batcher.send(values, request);
  };
  const calls = [send(chat(userId)), send(chat(userId, 2)), send(chat(userId, 3), '{not json'), send(chat(userId, 4))];
  const settled = await Promise.allSettled(calls);
  expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  expect(batcher.written).toMatchObject({ groups: 1, groupsRetriedAlone: 1 });
  const costs = (await db.consumptionRecord.findMany({ where: { userId } })).map((c) => c.creditsCost).sort();
  expect(costs).toEqual([1, 2, 4]);
  await expectLedgerInvariant(db, userId);
});

// The fallback's other case: the group DID commit but its answer was lost (the connection dropped after
// COMMIT). Sending each deduct again alone, as the fallback does, must replay the stored answers, byte
// for byte, and apply nothing twice.
it('replays, without applying again, the deducts of a group that committed before its answer was lost', async () => {
  const userId = newUserId('fallback-committed');
  await grantCredits(db, userId, 100, { priority: 1 });
  const now = new Date();
  const group = [chat(userId), chat(userId, 2), chat(userId, 3)].map((request) => ({
    request,
    values: deductArguments(request, key(), 'test', randomUUID(), now, 10),
  }));
  const { rows } = await sqlPool(db).query<{ item: number; answer: string; refusal_code: string | null }>({
    ...DEDUCT_BATCH_STATEMENT,
    values: batchArguments(group),
  });
  expect(rows.map((r) => r.refusal_code)).toEqual([null, null, null]);
  const again = await Promise.all(group.map((deduct) => deductAlone(db, deduct.values, deduct.request)));
  expect(again.map((r) => r.was_replayed)).toEqual([true, true, true]);
  expect(again.map((r) => r.answer)).toEqual(rows.map((r) => r.answer));
  const costs = (await db.consumptionRecord.findMany({ where: { userId } })).map((c) => c.creditsCost).sort();
  expect(costs).toEqual([1, 2, 3]);
  await expectLedgerInvariant(db, userId);
});

// The burn-down model for a group: the group's deducts, in the order the group runs them (by user,
// stably), each planned by modules/credits/rules/burn-down.ts on the grants as the earlier ones left them.
it('allocates every deduct of a group exactly as the burn-down rules say, in the group\'s order', async () => {
  const DAY = 86_400_000;
  const grantArb = fc.record({
    credits: fc.integer({ min: 0, max: 8 }),
    priority: fc.integer({ min: 1, max: 3 }),
    expiresInDays: fc.option(fc.integer({ min: 1, max: 30 }), { nil: null }),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(grantArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
      fc.array(fc.record({ user: fc.nat(), quantity: fc.integer({ min: 1, max: 6 }) }), { minLength: 2, maxLength: 10 }),
      async (grantsPerUser, deducts) => {
        const users = grantsPerUser.map(() => newUserId('group-model'));
        for (const [i, grants] of grantsPerUser.entries()) {
          for (const g of grants) {
            await grantCredits(db, users[i]!, g.credits, { priority: g.priority, expiresAt: g.expiresInDays === null ? null : new Date(Date.now() + g.expiresInDays * DAY) });
          }
        }
        const now = new Date();
        const model = new Map<string, GrantBalance[]>();
        for (const userId of users) model.set(userId, await db.$transaction((tx) => loadCandidateGrants(tx, userId, now)));
        const requests = deducts.map((d) => chat(users[d.user % users.length]!, d.quantity));
        // Expected, in the group's order (by user, stably); a blocker goes first and alone.
        const expected = new Map<DeductRequest, unknown>();
        for (const request of [...requests].sort((x, y) => (x.userId < y.userId ? -1 : x.userId > y.userId ? 1 : 0))) {
          const grants = model.get(request.userId)!;
          const plan = planSpend(grants, request.quantity, now);
          if (plan.ok) {
            for (const a of plan.allocations) grants.find((g) => g.id === a.grantId)!.usedCredits += a.credits;
            expected.set(request, plan.allocations);
          } else {
            expected.set(request, 'INSUFFICIENT_CREDITS');
          }
        }
        const batcher = oneSlot();
        const blocker = newUserId('blocker'); // holds the one slot so that the whole random set leaves as one group
        const results = await outcomes([
          deductCredits(db, chat(blocker), key(), 'test', batcher),
          ...requests.map((request) => deductCredits(db, request, key(), 'test', batcher)),
        ]);
        expect(results[0]).toBe('INSUFFICIENT_CREDITS');
        expect(batcher.written).toMatchObject({ groups: 1, grouped: requests.length });
        expect(results.slice(1).map((r) => (typeof r === 'string' ? r : r.body.allocations))).toEqual(requests.map((r) => expected.get(r)));
        for (const userId of users) await expectLedgerInvariant(db, userId);
      },
    ),
    { numRuns: 25 },
  );
});
