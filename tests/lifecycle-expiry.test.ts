/**
 * The expiry step the package timers and the sweep run (modules/lifecycle/subjects.ts, expirePackage) against the
 * suite's PostgreSQL: the expiry, its ledger entry, its outbox event and its lifecycle fact are one
 * transaction (one commit per package), written once however many times or concurrently it runs.
 */
import { createDatabase, type Database } from '../platform/database';
import { expireGrant } from '../modules/credits/lifecycle';
import { expirePackage } from '../modules/lifecycle/subjects';
import { balances, expectLedgerInvariant, grantCredits, newUserId } from './support/stack';

let db: Database;

beforeAll(() => {
  db = createDatabase(process.env.TEST_DATABASE_URL!, 10);
});
afterAll(async () => {
  await db?.$disconnect();
});

async function expiredPackage(credits: number): Promise<{ userId: string; grantId: string }> {
  const userId = newUserId('expiry');
  const grantId = await grantCredits(db, userId, credits, { expiresAt: new Date(Date.now() - 1_000) });
  return { userId, grantId };
}

async function writtenFor(userId: string, grantId: string) {
  const [expireEntries, facts, expiredEvents] = await Promise.all([
    db.creditLedgerEntry.findMany({ where: { userPackageId: grantId, entryType: 'expire' } }),
    db.lifecycleEvent.findMany({ where: { subjectId: grantId } }),
    db.event.findMany({ where: { userId, type: 'package.expired' } }),
  ]);
  return { expireEntries, facts, expiredEvents };
}

it('expires once under concurrent timers and sweeps: one expire entry, one fact, one package.expired event', async () => {
  const { userId, grantId } = await expiredPackage(40);
  const answers = await Promise.all([
    ...Array.from({ length: 4 }, () => expirePackage(db, grantId, 'system:lifecycle', false)),
    expirePackage(db, grantId, 'system:expiry-sweep', true),
  ]);
  expect(answers.every((snapshot) => snapshot?.phase === 'expired')).toBe(true);
  const { expireEntries, facts, expiredEvents } = await writtenFor(userId, grantId);
  expect(expireEntries.map((entry) => entry.amount)).toEqual([-40]);
  expect(facts).toHaveLength(1);
  expect(['expired', 'missed_timer']).toContain(facts[0]!.kind);
  expect(facts[0]!.details).toMatchObject({ voidedCredits: 40 });
  expect(expiredEvents).toHaveLength(1);
  expect((await balances(db, userId))[0]).toMatchObject({ status: 'expired', available: 0 });
  await expectLedgerInvariant(db, userId);
});

it('writes nothing before the expiry and answers null for a package that does not exist', async () => {
  const userId = newUserId('expiry');
  const grantId = await grantCredits(db, userId, 10, { expiresAt: new Date(Date.now() + 3_600_000) });
  expect(await expirePackage(db, grantId)).toMatchObject({ phase: 'active' });
  const { expireEntries, facts, expiredEvents } = await writtenFor(userId, grantId);
  expect([expireEntries.length, facts.length, expiredEvents.length]).toEqual([0, 0, 0]);
  expect(await expirePackage(db, '00000000-0000-4000-8000-000000000000')).toBeNull();
});

it('rolls the expiry back when what is recorded with it fails (the fact and the expiry commit together)', async () => {
  const { userId, grantId } = await expiredPackage(25);
  await expect(
    expireGrant(db, grantId, { actor: 'test', reference: grantId }, new Date(), async () => {
      throw new Error('recording the fact failed');
    }),
  ).rejects.toThrow('recording the fact failed');
  expect((await balances(db, userId))[0]).toMatchObject({ status: 'active', available: 25 });
  const { expireEntries, expiredEvents } = await writtenFor(userId, grantId);
  expect([expireEntries.length, expiredEvents.length]).toEqual([0, 0]);
  // The next timer or sweep expires it, with its fact.
  expect(await expirePackage(db, grantId)).toMatchObject({ phase: 'expired' });
  expect((await writtenFor(userId, grantId)).facts.map((fact) => fact.kind)).toEqual(['expired']);
  await expectLedgerInvariant(db, userId);
});
