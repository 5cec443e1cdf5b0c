/**
 * Lifecycle through the API on the suite's dev server: sign-up exactly once under concurrency, the
 * sweep catching a package whose timer was terminated, the reconciliation reporting (and changing
 * nothing), the expiry window, schedules created idempotently and listed with their runs.
 */
import { randomUUID } from 'node:crypto';
import { ensureSchedules } from '../modules/lifecycle/schedules';
import { packageLifecycleWorkflowId } from '../workflows/package-lifecycle-contract';
import { balances, expectLedgerInvariant, grantCredits, newUserId, startStack, type TestStack } from './support/stack';
import { waitFor } from './support/wait';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

it('gives the default package exactly once under 10 concurrent sign-ups', async () => {
  const userId = newUserId('signup');
  const answers = await Promise.all(Array.from({ length: 10 }, () => stack.call('POST', `/v1/internal/users/${userId}/signup`, { body: {} })));
  expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
  expect(new Set(answers.map((a) => a.body.grant.id)).size).toBe(1);
  expect(answers.filter((a) => a.body.created)).toHaveLength(1);
  expect(await stack.db.userPackage.count({ where: { userId } })).toBe(1);
  expect(await stack.db.signupGrant.count({ where: { userId } })).toBe(1);
  const again = await stack.call('POST', `/v1/internal/users/${userId}/signup`, { body: {} });
  expect(again.body).toMatchObject({ created: false, grant: { id: answers[0]!.body.grant.id } });
  await expectLedgerInvariant(stack.db, userId);
});

it('sweep expires a package whose timer was terminated, and records that the timer missed it', async () => {
  const userId = newUserId('sweep');
  const assigned = await stack.call('POST', `/v1/admin/users/${userId}/packages`, { as: 'admin', body: { packageCode: 'new_user_trial', source: 'gift' } });
  expect(assigned.status).toBe(201);
  const grantId: string = assigned.body.id;
  const handle = stack.temporal.workflow.getHandle(packageLifecycleWorkflowId(grantId));
  await handle.terminate('test: the timer is lost');
  // Its expiry passes while no timer runs (moved into the past directly, as a lost timer would leave it).
  await stack.db.userPackage.update({ where: { id: grantId }, data: { expiresAt: new Date(Date.now() - 60_000) } });

  const sweep = await stack.call('POST', '/v1/admin/lifecycle/sweeps', { as: 'admin', body: { userId } });
  expect(sweep.status).toBe(201);
  expect(sweep.body.items).toEqual([expect.objectContaining({ kind: 'missed_timer', subjectId: grantId })]);
  expect((await balances(stack.db, userId))[0]).toMatchObject({ status: 'expired', available: 0 });
  expect(await stack.db.lifecycleEvent.count({ where: { subjectId: grantId, kind: 'missed_timer' } })).toBe(1);
  const report = await stack.call('GET', `/v1/admin/lifecycle/reports/${sweep.body.id}`, { as: 'admin' });
  expect(report.body.id).toBe(sweep.body.id);
  await expectLedgerInvariant(stack.db, userId);
});

it('reconciliation reports a planted ledger mismatch and a paid-but-unprovisioned order, and changes nothing', async () => {
  const userId = newUserId('reconcile');
  const grantId = await grantCredits(stack.db, userId, 10);
  await stack.db.userPackage.update({ where: { id: grantId }, data: { totalCredits: 13 } }); // planted
  const order = await stack.call('POST', '/v1/internal/orders', { body: { userId, packageCode: 'monthly_membership', channel: 'manual' } });
  expect(order.status).toBe(201);
  // A payment recorded but never provisioned (the signal was lost), an hour ago.
  await stack.db.orderPayment.create({ data: { orderId: order.body.id, source: 'manual', externalId: 'manual', amountMinor: order.body.amountMinor, currency: order.body.currency, actor: 'test', paidAt: new Date(Date.now() - 3_600_000) } });
  await stack.db.order.update({ where: { id: order.body.id }, data: { status: 'paid' } });
  const before = { grants: await balances(stack.db, userId), ledger: await stack.db.creditLedgerEntry.count({ where: { userId } }), order: await stack.db.order.findUnique({ where: { id: order.body.id } }) };

  const run = await stack.call('POST', '/v1/admin/lifecycle/reconciliations', { as: 'admin', body: { userId } });
  expect(run.status).toBe(201);
  const kinds = run.body.items.map((i: { kind: string; subjectId: string }) => `${i.kind}:${i.subjectId}`).sort();
  expect(kinds).toEqual([`grant_ledger_mismatch:${grantId}`, `paid_not_provisioned:${order.body.id}`].sort());
  expect({ grants: await balances(stack.db, userId), ledger: await stack.db.creditLedgerEntry.count({ where: { userId } }), order: await stack.db.order.findUnique({ where: { id: order.body.id } }) }).toEqual(before);

  // Repair on request: the grant is realigned to its ledger.
  const repair = await stack.call('POST', `/v1/admin/lifecycle/reports/${run.body.id}/items/${encodeURIComponent(`grant_ledger_mismatch:${grantId}`)}/repair`, { as: 'admin', body: {} });
  expect(repair.status).toBe(200);
  await expectLedgerInvariant(stack.db, grantId ? userId : undefined);
});

it('lists packages by expiry window and changes and revokes a package (timer moved, then ended)', async () => {
  const userId = newUserId('window');
  const assigned = await stack.call('POST', `/v1/admin/users/${userId}/packages`, { as: 'admin', body: { packageCode: 'new_user_trial', source: 'gift' } });
  const grantId: string = assigned.body.id;
  const in29 = new Date(Date.now() + 29 * 86_400_000).toISOString().replace('Z', '+00:00');
  const list = await stack.call('GET', `/v1/admin/user-packages?userId=${userId}&expiresAfter=${encodeURIComponent(in29)}`, { as: 'admin' });
  expect(list.body.items.map((i: { id: string }) => i.id)).toEqual([grantId]);
  expect(list.body.items[0].timerWorkflowId).toBe(packageLifecycleWorkflowId(grantId));

  const later = '2099-01-01T08:00:00+08:00';
  const changed = await stack.call('POST', `/v1/admin/user-packages/${grantId}/expiry`, { as: 'admin', body: { expiresAt: later, reason: 'goodwill' } });
  expect(changed.status).toBe(200);
  expect(changed.body.expiresAt).toBe('2099-01-01T00:00:00.000Z');
  // The timer hears of the change by signal, a moment after the answer.
  const lifecycle = await waitFor(async () => {
    const shown = await stack.call('GET', `/v1/admin/user-packages/${grantId}/lifecycle`, { as: 'admin' });
    return shown.body.timer?.expiresAt === '2099-01-01T00:00:00.000Z' && shown;
  }, 60_000, 'the timer to move');
  expect(lifecycle.body.timer.expiresAt).toBe('2099-01-01T00:00:00.000Z');

  const revoked = await stack.call('POST', `/v1/admin/user-packages/${grantId}/revoke`, { as: 'admin', body: { reason: 'fraud' } });
  expect(revoked.body).toMatchObject({ status: 'revoked', availableCredits: 0 });
  const result = await stack.temporal.workflow.getHandle(packageLifecycleWorkflowId(grantId)).result();
  expect(result.phase).toBe('revoked');
  const again = await stack.call('POST', `/v1/admin/user-packages/${grantId}/expiry`, { as: 'admin', body: { expiresAt: later, reason: 'too late' } });
  expect(again.status).toBe(409);
  expect(again.body.error.code).toBe('PACKAGE_STATE_CONFLICT');
  await expectLedgerInvariant(stack.db, userId);
});

it('creates the schedules once (idempotent) and lists them with next runs', async () => {
  const prefix = stack.deps.config.SCHEDULE_ID_PREFIX;
  const first = await ensureSchedules(stack.temporal, stack.taskQueue, { sweepEveryMinutes: 15, prefix, paused: true });
  const second = await ensureSchedules(stack.temporal, stack.taskQueue, { sweepEveryMinutes: 15, prefix, paused: true });
  expect(first).toHaveLength(4);
  expect(second).toEqual([]);
  const listed = await stack.call('GET', '/v1/admin/schedules', { as: 'admin' });
  expect(listed.status).toBe(200);
  expect(listed.body.items.map((s: { id: string }) => s.id).sort()).toEqual(first.sort());
  for (const schedule of listed.body.items) {
    expect(schedule.paused).toBe(true);
    expect(schedule.nextRuns.length).toBeGreaterThan(0);
  }
  for (const id of first) await stack.temporal.schedule.getHandle(id).delete();
  void randomUUID;
});
