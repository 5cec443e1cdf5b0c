/**
 * The backup-and-restore drill (docs/operations.md, "Backup and restore"), against the real stack:
 * load data through the API, `npm run backup`'s backupDatabase, keep writing, restore into a new empty
 * database with restoreDatabase, and run an API and a worker on it against the same Temporal (and the
 * same task queue, as a restored deployment would). Then the restored world must be whole: the ledger
 * invariant for every user, balances as at backup time, held reservations settled at their deadline or by
 * the sweep, and the workflows that refer to rows the restore lost closed rather than left waiting.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backupDatabase } from '../scripts/backup';
import { restoreDatabase } from '../scripts/restore';
import { runExpirySweep } from '../modules/lifecycle';
import { ORPHAN_HOLD_AFTER_MS } from '../modules/credits/reservations';
import { balances, expectLedgerInvariant, grantCredits, newUserId, startStack, type TestStack } from './support/stack';
import { expectStatus } from './support/fixtures';
import { buyablePackage, placeOrder, postStripeEvent, sessionEvent, waitForOrder } from './support/orders';
import { waitFor } from './support/wait';
import { createOwnDatabase } from './support/own-database';

const SHORT_HOLD_SECONDS = 15;

async function availableByUser(stack: TestStack, users: string[]): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const user of users) result[user] = (await balances(stack.db, user)).reduce((sum, grant) => sum + grant.available, 0);
  return result;
}

async function reserve(stack: TestStack, userId: string, quantity: number, holdSeconds: number): Promise<string> {
  const response = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity, holdSeconds } });
  return expectStatus(response, 201, 'reserve').id as string;
}

function expectSuccess<T>(response: { status: number; body: T }, what: string): T {
  if (response.status < 200 || response.status > 299) throw new Error(`${what}: HTTP ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
}

let backupDir: string;
let source: TestStack | undefined;
let restored: TestStack | undefined;

afterAll(async () => {
  await source?.stopWorker();
  await source?.close();
  await restored?.stopWorker();
  await restored?.close();
  if (backupDir) fs.rmSync(backupDir, { recursive: true, force: true });
});

it('restores a backup into an empty database whose API and worker take over consistently', async () => {
  backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-backup-'));
  const sourceUrl = await createOwnDatabase('drill_source');
  source = await startStack({ databaseUrl: sourceUrl, withWorker: true });

  // ── Before the backup: grants, deducts, a committed reservation, two held ones, a paid order, an unpaid one.
  const alice = newUserId('alice');
  const bob = newUserId('bob');
  await grantCredits(source.db, alice, 100);
  await grantCredits(source.db, bob, 50);
  expectSuccess(await source.call('POST', '/v1/internal/credits/deduct', { body: { userId: alice, actionKey: 'ai_chat', quantity: 3 } }), 'deduct');
  const committed = await reserve(source, alice, 2, 600);
  expectSuccess(await source.call('POST', `/v1/internal/reservations/${committed}/commit`, { body: {} }), 'commit');
  const heldUntilDeadline = await reserve(source, alice, 4, SHORT_HOLD_SECONDS);
  const committedAfterBackup = await reserve(source, bob, 5, 600);
  const pack = await buyablePackage(source);
  const paidOrder = await placeOrder(source, bob, pack.code);
  expectSuccess(await postStripeEvent(source, sessionEvent('checkout.session.completed', paidOrder)), 'payment');
  await waitForOrder(source, paidOrder.id, ['completed']);
  const paidAfterBackup = await placeOrder(source, alice, pack.code);

  const atBackup = await availableByUser(source, [alice, bob]);
  const { manifestFile, manifest } = await backupDatabase({ databaseUrl: sourceUrl, outDir: backupDir });
  expect(manifest.rowCounts.credit_ledger_entries).toBeGreaterThan(0);
  expect(Number(manifest.lastLedgerId)).toBeGreaterThan(0);

  // ── After the backup: writes the restore will lose.
  expectSuccess(await source.call('POST', '/v1/internal/credits/deduct', { body: { userId: alice, actionKey: 'ai_chat', quantity: 1 } }), 'deduct');
  const lostCommitKey = `commit-${committedAfterBackup}`;
  const lostCommit = expectSuccess(
    await source.call('POST', `/v1/internal/reservations/${committedAfterBackup}/commit`, { body: {}, idempotencyKey: lostCommitKey }),
    'commit',
  );
  const lostReservation = await reserve(source, bob, 1, SHORT_HOLD_SECONDS);
  const paymentEvent = sessionEvent('checkout.session.completed', paidAfterBackup);
  expectSuccess(await postStripeEvent(source, paymentEvent), 'payment');
  await waitForOrder(source, paidAfterBackup.id, ['completed']);
  const lastLedgerBeforeDisaster = await source.db.creditLedgerEntry.aggregate({ _max: { id: true } });
  expect(lastLedgerBeforeDisaster._max.id!).toBeGreaterThan(BigInt(manifest.lastLedgerId!));

  // ── The disaster: the source database is gone; its API and worker stop.
  const taskQueue = source.taskQueue;
  await source.stopWorker();
  await source.close();
  source = undefined;

  const target = await createOwnDatabase('drill_restored', { empty: true });
  const { rowCounts } = await restoreDatabase({ manifestFile, databaseUrl: target });
  expect(rowCounts).toEqual(manifest.rowCounts);
  await expect(restoreDatabase({ manifestFile, databaseUrl: target })).rejects.toThrow(/already has tables/);

  restored = await startStack({ databaseUrl: target, taskQueue, withWorker: true });
  const db = restored.db;

  // Balances are those of the backup, the ledger agrees with every grant of every user.
  expect(await availableByUser(restored, [alice, bob])).toEqual(atBackup);
  expect(await db.creditLedgerEntry.count({ where: { id: { gt: BigInt(manifest.lastLedgerId!) } } })).toBe(0);
  await expectLedgerInvariant(db);

  // A hold that was held at backup time and still is: its workflow releases it at its deadline, in the restored database.
  await waitFor(async () => (await db.reservation.findUniqueOrThrow({ where: { id: heldUntilDeadline } })).status === 'expired', 90_000, 'the held reservation to expire at its deadline');

  // Committed after the backup: the restored row is held, its workflow is past it (committed, in its refund
  // window). Nothing would release it but the expiry sweep, one hour past its deadline.
  const orphan = await db.reservation.findUniqueOrThrow({ where: { id: committedAfterBackup } });
  expect(orphan.status).toBe('held');
  // The commit sent again is answered by the workflow, which remembers it; the restored row stays held.
  const commitAgain = await restored.call('POST', `/v1/internal/reservations/${committedAfterBackup}/commit`, { body: {}, idempotencyKey: lostCommitKey });
  expect(commitAgain.status).toBeLessThan(300);
  expect(commitAgain.body).toEqual(lostCommit);
  expect((await db.reservation.findUniqueOrThrow({ where: { id: committedAfterBackup } })).status).toBe('held');
  await runExpirySweep(db, { userId: bob }, new Date(orphan.expiresAt.getTime() + ORPHAN_HOLD_AFTER_MS + 1_000));
  expect((await db.reservation.findUniqueOrThrow({ where: { id: committedAfterBackup } })).status).toBe('expired');

  // Created after the backup: the workflow runs, the row is gone. At its deadline the workflow's release finds
  // no reservation (NOT_FOUND) and the run fails and closes: nothing waits on, no credits move.
  expect(await db.reservation.findUnique({ where: { id: lostReservation } })).toBeNull();
  const lostRun = restored.temporal.workflow.getHandle(`reservation-${lostReservation}`);
  await lostRun.result().catch(() => undefined);
  expect((await lostRun.describe()).status.name).toBe('FAILED');

  // Paid after the backup: the restored order awaits payment, its workflow has completed. The payment
  // provider's event, sent again (Stripe resends undelivered or replayed events; the gateway reconciliation
  // re-drives missed ones), pays and provisions it on the restored database.
  expect((await db.order.findUniqueOrThrow({ where: { id: paidAfterBackup.id } })).status).toBe('pending_payment');
  expectSuccess(await postStripeEvent(restored, paymentEvent), 'payment again');
  await waitForOrder(restored, paidAfterBackup.id, ['completed']);

  await expectLedgerInvariant(db);
}, 240_000);

