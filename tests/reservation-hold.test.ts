/**
 * The reserve's hold is placed by the API, which then starts the run with it (modules/reservations/service.ts):
 * a reserve needs no worker to answer, the run guards the hold once a worker polls, a retry finds the
 * same reservation, and a hold whose run never started is released by the expiry sweep.
 */
import { randomUUID } from 'node:crypto';
import { commitReservation, holdCredits, ORPHAN_HOLD_AFTER_MS } from '../modules/credits/reservations';
import { runExpirySweep } from '../modules/lifecycle/jobs';
import { balances, expectLedgerInvariant, grantCredits, newUserId, startStack, type TestStack } from './support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ withWorker: false });
});
afterAll(async () => {
  await stack?.close();
});

const reserve = (userId: string, idempotencyKey?: string, quantity = 4) =>
  stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity }, idempotencyKey });

it('answers a reserve without a worker; the run guards the hold once a worker polls', async () => {
  const userId = newUserId();
  await grantCredits(stack.db, userId, 10);
  const key = randomUUID();
  const held = await reserve(userId, key);
  expect(held.status).toBe(201);
  expect(held.body).toMatchObject({ status: 'held', creditsHeld: 4 });
  expect((await balances(stack.db, userId))[0]).toMatchObject({ reserved: 4, available: 6 });
  // The run exists, found by its search attributes, already `held` (set at the start, no worker needed).
  const handle = stack.temporal.workflow.getHandle(`reservation-${held.body.id}`);
  const described = await handle.describe();
  expect(described.status.name).toBe('RUNNING');
  expect(described.searchAttributes.ReservationStatus).toEqual(['held']);
  // The same request again: the same reservation, nothing held twice.
  const again = await reserve(userId, key);
  expect(again.status).toBe(201);
  expect(again.body).toEqual(held.body);

  await stack.startWorker();
  try {
    const committed = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/commit`, { body: { quantity: 3 } });
    expect(committed.status).toBe(200);
    expect(committed.body.reservation.status).toBe('committed');
    const state = await stack.call('GET', `/v1/internal/reservations/${held.body.id}`);
    expect(state.body.phase).toBe('committed');
  } finally {
    await stack.stopWorker();
  }
  expect((await balances(stack.db, userId))[0]).toMatchObject({ used: 3, reserved: 0, available: 7 });
  await expectLedgerInvariant(stack.db, userId);
});

it('starts no run for a refused hold', async () => {
  const userId = newUserId();
  await grantCredits(stack.db, userId, 2);
  const refused = await reserve(userId, randomUUID(), 5);
  expect(refused.status).toBe(402);
  expect(refused.body.error).toMatchObject({ code: 'INSUFFICIENT_CREDITS', details: { required: 5, available: 2 } });
  const runs = [];
  for await (const run of stack.temporal.workflow.list({ query: `UserId = "${userId}"` })) runs.push(run);
  expect(runs).toEqual([]);
});

it('refuses a hold longer than the bound without holding anything', async () => {
  const userId = newUserId();
  await grantCredits(stack.db, userId, 10);
  const tooLong = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity: 1, holdSeconds: 10_000_000 } });
  expect(tooLong.status).toBe(422);
  expect(tooLong.body.error.code).toBe('HOLD_LIMIT_EXCEEDED');
  expect((await balances(stack.db, userId))[0]).toMatchObject({ reserved: 0, available: 10 });
});

it('the expiry sweep releases a hold whose run never started, and leaves settled and recent holds alone', async () => {
  const userId = newUserId();
  await grantCredits(stack.db, userId, 20);
  const hold = (expiresAt: Date) =>
    holdCredits(
      stack.db,
      { reservationId: randomUUID(), workflowId: 'never-started', userId, actionKey: 'ai_chat', quantity: 2, expiresAt: expiresAt.toISOString(), requestHash: 'h' },
      'test',
    );
  const longOverdue = await hold(new Date(Date.now() - ORPHAN_HOLD_AFTER_MS - 60_000));
  const justOverdue = await hold(new Date(Date.now() - 60_000)); // its run may still be about to expire it
  const committedLongAgo = await hold(new Date(Date.now() - ORPHAN_HOLD_AFTER_MS - 60_000));
  await commitReservation(stack.db, committedLongAgo.id, 2, { scope: 'test', key: randomUUID(), requestHash: 'h' }, 'test');

  const reportId = await runExpirySweep(stack.db, { userId, trigger: 'admin' });
  const statuses = Object.fromEntries(
    (await stack.db.reservation.findMany({ where: { userId }, select: { id: true, status: true } })).map((r) => [r.id, r.status]),
  );
  expect(statuses).toEqual({ [longOverdue.id]: 'expired', [justOverdue.id]: 'held', [committedLongAgo.id]: 'committed' });
  const report = await stack.db.lifecycleReport.findUniqueOrThrow({ where: { id: reportId } });
  expect(report.summary).toMatchObject({ expiredOrphanHolds: 1 });
  expect(report.items).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'orphan_hold_expired', subjectId: longOverdue.id })]));
  // Run again: nothing more to do.
  await runExpirySweep(stack.db, { userId, trigger: 'admin' });
  expect((await stack.db.reservation.findUniqueOrThrow({ where: { id: longOverdue.id } })).status).toBe('expired');
  expect((await balances(stack.db, userId))[0]).toMatchObject({ used: 2, reserved: 2, available: 16 });
  await expectLedgerInvariant(stack.db, userId);
});
