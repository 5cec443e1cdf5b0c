/**
 * Property test of the credit engine against its specification: random sequences of deducts, holds,
 * commits, releases, expiries and refunds on random grants, run on the real database. Before every spend the
 * expected allocation is computed by the pure burn-down rules (modules/credits/rules/burn-down.ts) from the grants as
 * they are in the database; the engine must allocate exactly that, refuse exactly when the model says
 * the balance is short, and keep the ledger invariant after every sequence.
 *
 * Deducts run the hot path production runs: `deductCredits` is one prepared statement calling the SQL
 * function `deduct_credits` (prisma/migrations/20261215000000_deduct_function). For each one the test
 * also checks the function's answer against the rows it wrote (consumption, allocations, ledger
 * entries), its key order (the view's, as the API always sent it), and its replay: same key, same
 * bytes, nothing written twice.
 *
 * Holds and commits run theirs too: one prepared statement each, calling `hold_credits` and
 * `commit_reservation` (prisma/migrations/20261222000000_reservation_functions). A hold must allocate
 * as the burn-down model says and answer what a read-back of its rows shows; a commit must draw exactly
 * what the settlement model (modules/credits/rules/settlement.ts) draws from the held grants, write the consumption,
 * allocations and 'commit'/'release' ledger entries that say so, answer what its rows show, and replay
 * its answer under the same key without writing again.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { planSpend } from '../modules/credits/rules/burn-down';
import { BillingError } from '../platform/errors';
import { createDatabase, type Database } from '../platform/database';
import { deductCredits } from '../modules/credits/spend';
import { commitReservation, holdCredits, releaseReservation } from '../modules/credits/reservations';
import { refundConsumption } from '../modules/credits/refunds';
import { loadCandidateGrants } from '../modules/credits/grants';
import { consumptionView } from '../modules/credits/views';
import { getReservation } from '../modules/credits/reservations';
import { settleHold } from '../modules/credits/rules/settlement';
import { expectLedgerInvariant, grantCredits, newUserId } from './support/stack';

/** The ConsumptionView's keys in the order the deduct has always answered them (replays are byte for byte). */
const ANSWER_KEYS = ['id', 'userId', 'actionKey', 'quantity', 'unitPrice', 'creditsCost', 'createdAt', 'creditsRefunded', 'reservationId', 'metadata', 'allocations'];

/** The deduct's answer must be what it wrote, in the view's key order, and replay to the same bytes without writing again. */
async function expectAnswerMatchesRows(userId: string, key: ReturnType<typeof idempotency>, answer: Awaited<ReturnType<typeof deductCredits>>['body']) {
  expect(Object.keys(answer)).toEqual(ANSWER_KEYS);
  const record = await db.consumptionRecord.findUniqueOrThrow({ where: { id: answer.id }, include: { allocations: true, reservation: true } });
  const fromRows = consumptionView(record);
  expect({ ...answer, allocations: [...answer.allocations].sort((a, b) => a.grantId.localeCompare(b.grantId)) }).toEqual({
    ...fromRows,
    allocations: [...fromRows.allocations].sort((a, b) => a.grantId.localeCompare(b.grantId)),
  });
  const ledger = await db.creditLedgerEntry.findMany({ where: { referenceType: 'consumption', referenceId: answer.id }, orderBy: { id: 'asc' } });
  expect(ledger.map((e) => ({ grantId: e.userPackageId, credits: -e.amount, used: e.usedDelta, type: e.entryType, key: e.idempotencyKey }))).toEqual(
    answer.allocations.map((a) => ({ grantId: a.grantId, credits: a.credits, used: a.credits, type: 'deduct', key: key.key })),
  );
  const written = async () => [await db.consumptionRecord.count({ where: { userId } }), await db.creditLedgerEntry.count({ where: { userId } })];
  const before = await written();
  const replay = await deductCredits(db, { userId, actionKey: 'ai_chat', quantity: answer.quantity }, key, 'model');
  expect(replay.replayed).toBe(true);
  expect(JSON.stringify(replay.body)).toBe(JSON.stringify(answer));
  expect(await written()).toEqual(before);
}

const byGrant = <T extends { grantId: string }>(list: T[]): T[] => [...list].sort((a, b) => a.grantId.localeCompare(b.grantId));

/** A hold's answer is what a read-back of its rows shows. */
async function expectHoldMatchesRows(view: Awaited<ReturnType<typeof holdCredits>>) {
  const read = await getReservation(db, view.id);
  expect({ ...read!, allocations: byGrant(read!.allocations) }).toEqual({ ...view, allocations: byGrant(view.allocations) });
}

/** A commit draws what the settlement model draws, writes rows that say so, answers them, and replays without writing. */
async function commitAgainstModel(userId: string, reservationId: string, quantity: number) {
  const held = await db.reservationAllocation.findMany({ where: { reservationId }, include: { userPackage: true } });
  const expected = settleHold(held.map((a) => ({ grant: a.userPackage, credits: a.credits })), quantity); // ai_chat: 1 credit per unit
  const key = idempotency();
  const { body, replayed } = await commitReservation(db, reservationId, quantity, key, 'model');
  expect(replayed).toBe(false);
  expect(body.consumption.allocations).toEqual(expected.committed);
  expect(body.reservation).toMatchObject({ id: reservationId, status: 'committed', consumptionId: body.consumption.id });
  const record = await db.consumptionRecord.findUniqueOrThrow({ where: { id: body.consumption.id }, include: { allocations: true, reservation: true } });
  const fromRows = consumptionView(record);
  expect({ ...body.consumption, allocations: byGrant(body.consumption.allocations) }).toEqual({ ...fromRows, allocations: byGrant(fromRows.allocations) });
  const read = await getReservation(db, reservationId);
  expect({ ...read!, allocations: byGrant(read!.allocations) }).toEqual({ ...body.reservation, allocations: byGrant(body.reservation.allocations) });
  const ledger = await db.creditLedgerEntry.findMany({ where: { referenceType: 'reservation', referenceId: reservationId, entryType: { in: ['commit', 'release'] } } });
  const entries = ledger.map((e) => ({ grantId: e.userPackageId, type: e.entryType, amount: e.amount, reserved: e.reservedDelta, used: e.usedDelta, key: e.idempotencyKey }));
  const modelEntries = expected.perGrant.flatMap(({ grantId, committed, released }) => [
    ...(committed > 0 ? [{ grantId, type: 'commit', amount: 0, reserved: -committed, used: committed, key: key.key }] : []),
    ...(released > 0 ? [{ grantId, type: 'release', amount: released, reserved: -released, used: 0, key: key.key }] : []),
  ]);
  const order = (a: { grantId: string; type: string }, b: { grantId: string; type: string }) => a.grantId.localeCompare(b.grantId) || a.type.localeCompare(b.type);
  expect(entries.sort(order)).toEqual(modelEntries.sort(order));
  const written = async () => [await db.consumptionRecord.count({ where: { userId } }), await db.creditLedgerEntry.count({ where: { userId } })];
  const before = await written();
  const replay = await commitReservation(db, reservationId, quantity, key, 'model');
  expect(replay.replayed).toBe(true);
  expect(JSON.stringify(replay.body)).toBe(JSON.stringify(body));
  expect(await written()).toEqual(before);
  return body;
}

let db: Database;
beforeAll(() => {
  db = createDatabase(process.env.TEST_DATABASE_URL!, 5);
});
afterAll(async () => {
  await db?.$disconnect();
});

const DAY = 86_400_000;

const grantArb = fc.record({
  credits: fc.integer({ min: 0, max: 12 }),
  priority: fc.integer({ min: 1, max: 3 }),
  expiresInDays: fc.option(fc.integer({ min: -2, max: 30 }), { nil: null }),
  pending: fc.nat({ max: 99 }).map((n) => n < 15), // about one grant in seven is not active yet
});

type Step =
  | { kind: 'deduct'; quantity: number }
  | { kind: 'hold'; quantity: number }
  | { kind: 'commit'; share: number }
  | { kind: 'release' }
  | { kind: 'expire' }
  | { kind: 'refund'; share: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('deduct' as const), quantity: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('hold' as const), quantity: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('commit' as const), share: fc.double({ min: 0.01, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('release' as const) }),
  fc.record({ kind: fc.constant('expire' as const) }),
  fc.record({ kind: fc.constant('refund' as const), share: fc.double({ min: 0.01, max: 1, noNaN: true }) }),
);

const idempotency = () => ({ scope: 'model-test', key: randomUUID(), requestHash: 'h' });

async function expectedPlan(userId: string, credits: number) {
  const now = new Date();
  return db.$transaction(async (tx) => planSpend(await loadCandidateGrants(tx, userId, now), credits, now));
}

it('allocates exactly as the burn-down rules say, refuses exactly when short, and keeps the ledger whole', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(grantArb, { minLength: 1, maxLength: 4 }), fc.array(stepArb, { minLength: 1, maxLength: 12 }), async (grants, steps) => {
      const userId = newUserId('model');
      for (const g of grants) {
        await grantCredits(db, userId, g.credits, {
          priority: g.priority,
          expiresAt: g.expiresInDays === null ? null : new Date(Date.now() + g.expiresInDays * DAY + 60_000),
          status: g.pending ? 'pending' : 'active',
        });
      }
      const held: Array<{ id: string; quantity: number }> = [];
      const consumptions: Array<{ id: string; refundable: number }> = [];

      for (const step of steps) {
        if (step.kind === 'deduct' || step.kind === 'hold') {
          const plan = await expectedPlan(userId, step.quantity); // ai_chat costs 1 credit per unit
          try {
            if (step.kind === 'deduct') {
              const key = idempotency();
              const { body, replayed } = await deductCredits(db, { userId, actionKey: 'ai_chat', quantity: step.quantity }, key, 'model');
              expect(replayed).toBe(false);
              consumptions.push({ id: body.id, refundable: body.creditsCost });
              expect(plan.ok && body.allocations).toEqual(plan.ok && plan.allocations);
              await expectAnswerMatchesRows(userId, key, body);
            } else {
              const reservationId = randomUUID();
              const view = await holdCredits(
                db,
                { reservationId, workflowId: 'none', userId, actionKey: 'ai_chat', quantity: step.quantity, expiresAt: new Date(Date.now() + 600_000).toISOString(), requestHash: 'h' },
                'model',
              );
              held.push({ id: reservationId, quantity: step.quantity });
              expect(plan.ok && view.allocations).toEqual(plan.ok && plan.allocations);
              await expectHoldMatchesRows(view);
            }
            expect(plan.ok).toBe(true);
          } catch (error) {
            if (!(error instanceof BillingError) || error.code !== 'INSUFFICIENT_CREDITS') throw error;
            expect(plan).toEqual({ ok: false, required: step.quantity, available: error.details!.available });
          }
        } else if (step.kind === 'commit' || step.kind === 'release' || step.kind === 'expire') {
          const reservation = held.shift();
          if (!reservation) continue;
          if (step.kind === 'release') {
            await releaseReservation(db, reservation.id, 'released', 'model');
          } else if (step.kind === 'expire') {
            // The deadline's release, run twice as a retried activity would: the second changes nothing.
            await releaseReservation(db, reservation.id, 'expired', 'system:hold-deadline');
            expect((await releaseReservation(db, reservation.id, 'expired', 'system:hold-deadline')).status).toBe('expired');
          } else {
            const quantity = Math.max(1, Math.ceil(reservation.quantity * step.share));
            const body = await commitAgainstModel(userId, reservation.id, quantity);
            consumptions.push({ id: body.consumption.id, refundable: body.consumption.creditsCost });
          }
        } else {
          const target = consumptions.find((c) => c.refundable > 0);
          if (!target) continue;
          const credits = Math.max(1, Math.floor(target.refundable * step.share));
          await refundConsumption(db, { consumptionId: target.id, credits, reason: 'model' }, { graceDays: 30 }, idempotency(), 'model');
          target.refundable -= credits;
        }
      }
      await expectLedgerInvariant(db, userId);
    }),
    { numRuns: 40 },
  );
});

// The random sequences above rarely hold across several grants and then commit part of it: this drives
// exactly that case, where the settlement's burn-down order decides which grants the commit draws from.
it('commits part of a hold spread over several grants exactly as the settlement model says', async () => {
  const spreadGrantArb = fc.record({
    credits: fc.integer({ min: 1, max: 5 }),
    priority: fc.integer({ min: 1, max: 3 }),
    expiresInDays: fc.option(fc.integer({ min: 1, max: 30 }), { nil: null }),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(spreadGrantArb, { minLength: 2, maxLength: 4 }), fc.double({ min: 0, max: 1, noNaN: true }), async (grants, share) => {
      const userId = newUserId('spread');
      for (const g of grants) {
        await grantCredits(db, userId, g.credits, {
          priority: g.priority,
          expiresAt: g.expiresInDays === null ? null : new Date(Date.now() + g.expiresInDays * DAY),
        });
      }
      const total = grants.reduce((sum, g) => sum + g.credits, 0);
      const plan = await expectedPlan(userId, total);
      const view = await holdCredits(
        db,
        { reservationId: randomUUID(), workflowId: 'none', userId, actionKey: 'ai_chat', quantity: total, expiresAt: new Date(Date.now() + 600_000).toISOString(), requestHash: 'h' },
        'model',
      );
      expect(plan.ok && view.allocations).toEqual(plan.ok && plan.allocations);
      await expectHoldMatchesRows(view);
      await commitAgainstModel(userId, view.id, Math.floor(total * share));
      await expectLedgerInvariant(db, userId);
    }),
    { numRuns: 25 },
  );
});
