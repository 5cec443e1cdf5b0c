import { randomUUID } from 'node:crypto';
import { balances, expectLedgerInvariant, grantCredits, newUserId, startStack, type TestStack } from './support/stack';
import { waitFor } from './support/wait';
import { replayAll } from './support/replay';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ holdMaxSeconds: 3_600 });
});
afterAll(async () => {
  await stack?.close();
});

const DAY = 86_400_000;

async function reserve(userId: string, extra: Record<string, unknown> = {}, idempotencyKey?: string) {
  return stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity: 5, ...extra }, idempotencyKey });
}


// The hold deadline's automatic release is tested on the time-skipping server with a 15-minute hold
// (tests/workflows/reservation.test.ts) and its database side in tests/engine-model.test.ts.
describe('reservations', () => {
  it('holds credits across grants, commits less than held and gives the rest back', async () => {
    const userId = newUserId();
    const first = await grantCredits(stack.db, userId, 3, { priority: 1 });
    const second = await grantCredits(stack.db, userId, 10, { priority: 2 });

    const held = await reserve(userId);
    expect(held.status).toBe(201);
    expect(held.body).toMatchObject({ userId, status: 'held', quantity: 5, creditsHeld: 5 });
    expect(held.body.allocations).toEqual([
      { grantId: first, credits: 3 },
      { grantId: second, credits: 2 },
    ]);
    expect((await balances(stack.db, userId)).map((b) => [b.reserved, b.available])).toEqual([
      [3, 0],
      [2, 8],
    ]);

    const state = await stack.call('GET', `/v1/internal/reservations/${held.body.id}`);
    expect(state.body).toMatchObject({ phase: 'held', reservation: { id: held.body.id, status: 'held' } });

    const tooMuch = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/commit`, { body: { quantity: 6 } });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.error).toMatchObject({ code: 'COMMIT_EXCEEDS_HOLD', details: { held: 5, requested: 6 } });

    const committed = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/commit`, { body: { quantity: 4 } });
    expect(committed.status).toBe(200);
    expect(committed.body.reservation.status).toBe('committed');
    expect(committed.body.consumption).toMatchObject({ quantity: 4, creditsCost: 4, reservationId: held.body.id });
    expect(committed.body.consumption.allocations).toEqual([
      { grantId: first, credits: 3 },
      { grantId: second, credits: 1 },
    ]);
    expect((await balances(stack.db, userId)).map((b) => [b.used, b.reserved, b.available])).toEqual([
      [3, 0, 0],
      [1, 0, 9],
    ]);

    const again = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/release`, { body: {} });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('RESERVATION_NOT_HELD');
    await expectLedgerInvariant(stack.db, userId);
  });

  it('refuses a hold it cannot cover with 402 and changes nothing', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 4);
    const refused = await reserve(userId);
    expect(refused.status).toBe(402);
    expect(refused.body.error).toMatchObject({ code: 'INSUFFICIENT_CREDITS', details: { required: 5, available: 4 } });
    expect((await balances(stack.db, userId))[0]).toMatchObject({ reserved: 0, available: 4 });
    expect(await stack.db.reservation.count({ where: { userId } })).toBe(0);
  });

  it('extends a hold within the maximum and refuses beyond it', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 10);
    const held = await reserve(userId, { holdSeconds: 60 });
    const extended = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/extend`, { body: { holdSeconds: 600 } });
    expect(extended.status).toBe(200);
    expect(Date.parse(extended.body.expiresAt)).toBeGreaterThan(Date.parse(held.body.expiresAt));
    const tooLong = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/extend`, { body: { holdSeconds: 7_200 } });
    expect(tooLong.status).toBe(422);
    expect(tooLong.body.error.code).toBe('HOLD_LIMIT_EXCEEDED');
    const released = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/release`, { body: {} });
    expect(released.body.status).toBe('released');
    // A hold longer than the maximum is refused by the workflow (where the deadline is computed); nothing is held.
    const tooLongHold = await reserve(userId, { holdSeconds: 3_601 });
    expect(tooLongHold.status).toBe(422);
    expect(tooLongHold.body.error).toMatchObject({ code: 'HOLD_LIMIT_EXCEEDED', details: { maxHoldSeconds: 3_600 } });
    expect(await stack.db.reservation.count({ where: { userId } })).toBe(1);
    expect((await balances(stack.db, userId))[0]).toMatchObject({ reserved: 0, available: 10 });
    await expectLedgerInvariant(stack.db, userId);
  });

  it('refunds a committed consumption in part, then in full, to the grants it came from', async () => {
    const userId = newUserId();
    const first = await grantCredits(stack.db, userId, 3, { priority: 1 });
    const second = await grantCredits(stack.db, userId, 10, { priority: 2 });
    const held = await reserve(userId);
    await stack.call('POST', `/v1/internal/reservations/${held.body.id}/commit`, { body: {} });

    const partial = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/refund`, { body: { credits: 1, reason: 'model timed out' } });
    expect(partial.status).toBe(201);
    // Last-drawn first: the partial refund goes back to the second grant.
    expect(partial.body).toMatchObject({ credits: 1, consumptionCreditsRefunded: 1, returnedTo: [{ grantId: second, credits: 1, replacementFor: null }] });

    const rest = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/refund`, { body: { reason: 'action failed' } });
    expect(rest.status).toBe(201);
    expect(rest.body.credits).toBe(4);
    expect((await balances(stack.db, userId)).map((b) => [b.id, b.used, b.available])).toEqual([
      [first, 0, 3],
      [second, 0, 10],
    ]);
    const tooMuch = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/refund`, { body: { reason: 'again' } });
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.body.error.code).toBe('REFUND_EXCEEDS_CONSUMPTION');
    await expectLedgerInvariant(stack.db, userId);
  });

  it('refunds credits of a grant that expired meanwhile into a replacement grant', async () => {
    const userId = newUserId();
    const expiring = await grantCredits(stack.db, userId, 5, { expiresAt: new Date(Date.now() + DAY) });
    const deducted = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'advanced_analysis' } });
    // The grant lapses after the spend.
    await stack.db.userPackage.update({ where: { id: expiring }, data: { expiresAt: new Date(Date.now() - 1000) } });

    const refund = await stack.call('POST', `/v1/internal/consumptions/${deducted.body.id}/refund`, { body: { reason: 'export failed' } });
    expect(refund.status).toBe(201);
    expect(refund.body.returnedTo).toHaveLength(1);
    const [returned] = refund.body.returnedTo;
    expect(returned).toMatchObject({ credits: 3, replacementFor: expiring });
    const replacement = await stack.db.userPackage.findUniqueOrThrow({ where: { id: returned.grantId } });
    expect(replacement).toMatchObject({ source: 'system', status: 'active', totalCredits: 3, usedCredits: 0 });
    expect(replacement.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 29 * DAY);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('replays a retried reserve and commit, and rejects a reused key with other parameters', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 20);
    const key = randomUUID();
    const [a, b] = await Promise.all([reserve(userId, {}, key), reserve(userId, {}, key)]);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.body.id).toBe(a.body.id);
    const conflicting = await reserve(userId, { quantity: 6 }, key);
    expect(conflicting.status).toBe(409);
    expect(conflicting.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await balances(stack.db, userId))[0]).toMatchObject({ reserved: 5, available: 15 });

    const commitKey = randomUUID();
    const commit = (quantity: number) =>
      stack.call('POST', `/v1/internal/reservations/${a.body.id}/commit`, { body: { quantity }, idempotencyKey: commitKey });
    const first = await commit(2);
    const retry = await commit(2);
    expect(retry.status).toBe(200);
    expect(retry.body.consumption.id).toBe(first.body.consumption.id);
    const changed = await commit(3);
    expect(changed.status).toBe(409);
    expect(changed.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await balances(stack.db, userId))[0]).toMatchObject({ used: 2, reserved: 0, available: 18 });
    await expectLedgerInvariant(stack.db, userId);
  });

  it('completes correctly when the worker is stopped and restarted mid-reservation', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 10);
    const held = await reserve(userId, { holdSeconds: 600 });
    expect(held.status).toBe(201);

    await stack.stopWorker();
    // The commit is accepted by the server but waits: no worker is polling the task queue.
    const pendingCommit = stack.call('POST', `/v1/internal/reservations/${held.body.id}/commit`, { body: { quantity: 3 } });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await stack.db.reservation.findUniqueOrThrow({ where: { id: held.body.id } })).status).toBe('held');

    await stack.startWorker(); // a fresh worker replays the history and carries on
    const committed = await pendingCommit;
    expect(committed.status).toBe(200);
    expect(committed.body.consumption.creditsCost).toBe(3);
    expect((await balances(stack.db, userId))[0]).toMatchObject({ used: 3, reserved: 0, available: 7 });

    const state = await stack.call('GET', `/v1/internal/reservations/${held.body.id}`);
    expect(state.body.phase).toBe('committed');
    await expectLedgerInvariant(stack.db, userId);
  });

  it('answers 503 when no worker answers in time, and the retry with the same key succeeds', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 10);
    const held = await reserve(userId, { holdSeconds: 600 });
    await stack.stopWorker();
    const impatient = await startStack({ withWorker: false, callTimeoutMs: 1_000 });
    try {
      const key = randomUUID();
      const release = () =>
        impatient.call('POST', `/v1/internal/reservations/${held.body.id}/release`, { body: {}, idempotencyKey: key });
      const timedOut = await release();
      expect(timedOut.status).toBe(503);
      expect(timedOut.body.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { retryable: true } });
      await stack.startWorker();
      // A client retries a 503 with the same key until the (restarting) worker answers.
      const retried = await waitFor(async () => { const r = await release(); return r.status !== 503 && r; }, 60_000, 'a release that is not 503');
      expect(retried.status).toBe(200);
      expect(retried.body.status).toBe('released');
    } finally {
      await impatient.close();
      if (!stack.worker) await stack.startWorker();
    }
    expect((await balances(stack.db, userId))[0]).toMatchObject({ reserved: 0, available: 10 });
    await expectLedgerInvariant(stack.db, userId);
  });

  it('settles a held reservation whose workflow an operator terminated, so credits are never stuck', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 10);
    const held = await reserve(userId, { holdSeconds: 600 });
    await stack.temporal.workflow.getHandle(`reservation-${held.body.id}`).terminate('operator test');

    const released = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/release`, { body: {} });
    expect(released.status).toBe(200);
    expect(released.body.status).toBe('released');
    expect((await balances(stack.db, userId))[0]).toMatchObject({ reserved: 0, available: 10 });
    const state = await stack.call('GET', `/v1/internal/reservations/${held.body.id}`);
    expect(state.body.reservation.status).toBe('released');
    // Its run closed and it is settled: a late commit is refused (as after an expiry).
    const late = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/commit`, { body: {} });
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({ code: 'RESERVATION_NOT_HELD', details: { status: 'released' } });
    await expectLedgerInvariant(stack.db, userId);
  });

  it('replays every reservation history of this file deterministically (workflow code is replay-safe)', async () => {
    const executions = [];
    for await (const execution of stack.temporal.workflow.list({ query: `TaskQueue = "${stack.taskQueue}"` })) {
      executions.push(execution);
    }
    expect(executions.length).toBeGreaterThanOrEqual(5);
    const histories = await Promise.all(
      executions.map(async (e) => ({ workflowId: e.workflowId, history: await stack.temporal.workflow.getHandle(e.workflowId, e.runId).fetchHistory() })),
    );
    const results = await replayAll(histories);
    expect(results.filter((r) => r.error)).toEqual([]);
    expect(results).toHaveLength(histories.length);
  });
});
