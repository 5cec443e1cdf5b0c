/**
 * Admin changes to a user package and the timers the API starts, on the suite's dev server with NO
 * worker polling: timers are started but never run, so a package can be past its `expiresAt` while its
 * timer has not fired, without depending on the wall clock.
 * - Every timer the API starts carries LIFECYCLE_REMINDER_LEAD_DAYS (admin grant, sign-up, a missing
 *   timer restarted by an expiry change), read back from the workflow's start input.
 * - The instant decides: a package past its expiry cannot have its expiry moved or be revoked.
 * - Revoke and expiry changes are idempotent like every other change: same key replays, another key
 *   is judged afresh (a second revoke is 409 PACKAGE_STATE_CONFLICT).
 */
import { randomUUID } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { packageLifecycleWorkflowId, type LifecycleWorkflowInput } from '../workflows/package-lifecycle-contract';
import { balances, expectLedgerInvariant, newUserId, startStack, type TestStack } from './support/stack';

const LEAD_DAYS = [3, 0.5]; // not the default 7,1
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack({ withWorker: false, reminderLeadDays: LEAD_DAYS });
});
afterAll(async () => {
  await stack?.close();
});

/** The input the package's timer was started with (its history's first event). */
async function timerInput(grantId: string): Promise<LifecycleWorkflowInput> {
  const history = await stack.temporal.workflow.getHandle(packageLifecycleWorkflowId(grantId)).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  return defaultPayloadConverter.fromPayload(started!.input!.payloads![0]! as never);
}

async function assign(userId: string, packageCode = 'monthly_membership'): Promise<string> {
  const assigned = await stack.call('POST', `/v1/admin/users/${userId}/packages`, { as: 'admin', body: { packageCode } });
  expect(assigned.status).toBe(201);
  return assigned.body.id;
}

describe('timers started by the API carry LIFECYCLE_REMINDER_LEAD_DAYS', () => {
  it('an admin grant', async () => {
    const grantId = await assign(newUserId('lead-admin'));
    expect((await timerInput(grantId)).reminderLeadDays).toEqual(LEAD_DAYS);
  });

  it('a sign-up grant', async () => {
    const userId = newUserId('lead-signup');
    const signup = await stack.call('POST', `/v1/internal/users/${userId}/signup`, { body: {} });
    expect(signup.status).toBe(200);
    expect((await timerInput(signup.body.grant.id)).reminderLeadDays).toEqual(LEAD_DAYS);
  });

  it('a timer restarted by an expiry change (the old one was lost)', async () => {
    const grantId = await assign(newUserId('lead-restart'));
    await stack.temporal.workflow.getHandle(packageLifecycleWorkflowId(grantId)).terminate('test: the timer is lost');
    const moved = await stack.call('POST', `/v1/admin/user-packages/${grantId}/expiry`, { as: 'admin', body: { expiresAt: '2099-01-01T00:00:00Z', reason: 'goodwill' } });
    expect(moved.status).toBe(200);
    const description = await stack.temporal.workflow.getHandle(packageLifecycleWorkflowId(grantId)).describe();
    expect(description.status.name).toBe('RUNNING');
    expect((await timerInput(grantId)).reminderLeadDays).toEqual(LEAD_DAYS);
  });
});

describe('a package past its expiresAt whose timer has not fired', () => {
  /** A 100-credit package whose expiry instant passed a minute ago; its timer (never run) still waits for the old expiry. */
  async function pastExpiry() {
    const userId = newUserId('past-expiry');
    const grantId = await assign(userId);
    const expiresAt = new Date(Date.now() - 60_000);
    await stack.db.userPackage.update({ where: { id: grantId }, data: { startsAt: new Date(Date.now() - 3_600_000), expiresAt } });
    return { userId, grantId, expiresAt };
  }

  it('is not revived by moving its expiry: 409 PACKAGE_STATE_CONFLICT, nothing changes', async () => {
    const { userId, grantId, expiresAt } = await pastExpiry();
    expect(await stack.call('GET', '/v1/me/credits', { as: { user: userId } })).toMatchObject({ body: { availableCredits: 0 } });

    const moved = await stack.call('POST', `/v1/admin/user-packages/${grantId}/expiry`, { as: 'admin', body: { expiresAt: '2099-01-01T00:00:00Z', reason: 'too late' } });
    expect(moved.status).toBe(409);
    expect(moved.body.error).toMatchObject({ code: 'PACKAGE_STATE_CONFLICT', details: { status: 'expired', expiresAt: expiresAt.toISOString() } });
    const permanent = await stack.call('POST', `/v1/admin/user-packages/${grantId}/expiry`, { as: 'admin', body: { expiresAt: null, reason: 'too late' } });
    expect(permanent.status).toBe(409);

    const grant = await stack.db.userPackage.findUniqueOrThrow({ where: { id: grantId } });
    expect(grant.expiresAt).toEqual(expiresAt);
    expect(grant.status).toBe('active'); // the timer has not marked it: the instant alone decided
    expect(await stack.call('GET', '/v1/me/credits', { as: { user: userId } })).toMatchObject({ body: { availableCredits: 0 } });
    expect(await stack.db.lifecycleEvent.count({ where: { subjectId: grantId, kind: 'expiry_changed' } })).toBe(0);
  });

  it('is not revoked: 409 PACKAGE_STATE_CONFLICT, no ledger entry', async () => {
    const { userId, grantId } = await pastExpiry();
    const entriesBefore = await stack.db.creditLedgerEntry.count({ where: { userPackageId: grantId } });
    const revoked = await stack.call('POST', `/v1/admin/user-packages/${grantId}/revoke`, { as: 'admin', body: { reason: 'too late' } });
    expect(revoked.status).toBe(409);
    expect(revoked.body.error).toMatchObject({ code: 'PACKAGE_STATE_CONFLICT', details: { status: 'expired' } });
    expect(await stack.db.creditLedgerEntry.count({ where: { userPackageId: grantId } })).toBe(entriesBefore);
    expect((await balances(stack.db, userId))[0]).toMatchObject({ status: 'active', available: 100 }); // for the timer to expire
    await expectLedgerInvariant(stack.db, userId);
  });
});

describe('revoke and expiry changes are idempotent', () => {
  it('a revoke retried with its key replays the first answer; a new revoke of the revoked package is 409', async () => {
    const userId = newUserId('revoke-twice');
    const grantId = await assign(userId);
    const key = `revoke-${randomUUID()}`;
    const first = await stack.call('POST', `/v1/admin/user-packages/${grantId}/revoke`, { as: 'admin', body: { reason: 'fraud' }, idempotencyKey: key });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'revoked', availableCredits: 0 });

    const retried = await stack.call('POST', `/v1/admin/user-packages/${grantId}/revoke`, { as: 'admin', body: { reason: 'fraud' }, idempotencyKey: key });
    expect(retried.status).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body).toEqual(first.body);

    const again = await stack.call('POST', `/v1/admin/user-packages/${grantId}/revoke`, { as: 'admin', body: { reason: 'fraud again' } });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'PACKAGE_STATE_CONFLICT', details: { status: 'revoked' } });

    expect(await stack.db.creditLedgerEntry.count({ where: { userPackageId: grantId, entryType: 'adjust' } })).toBe(1);
    expect(await stack.db.lifecycleEvent.count({ where: { subjectId: grantId, kind: 'revoked' } })).toBe(1);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('an expiry change retried with its key replays its answer and does not undo a later change', async () => {
    const grantId = await assign(newUserId('expiry-retry'));
    const key = `expiry-${randomUUID()}`;
    const change = { as: 'admin' as const, body: { expiresAt: '2098-01-01T00:00:00Z', reason: 'goodwill' }, idempotencyKey: key };
    const first = await stack.call('POST', `/v1/admin/user-packages/${grantId}/expiry`, change);
    expect(first.status).toBe(200);
    const later = await stack.call('POST', `/v1/admin/user-packages/${grantId}/expiry`, { as: 'admin', body: { expiresAt: '2099-01-01T00:00:00Z', reason: 'more goodwill' } });
    expect(later.body.expiresAt).toBe('2099-01-01T00:00:00.000Z');

    const retried = await stack.call('POST', `/v1/admin/user-packages/${grantId}/expiry`, change);
    expect(retried.status).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body).toEqual(first.body);
    expect((await stack.db.userPackage.findUniqueOrThrow({ where: { id: grantId } })).expiresAt).toEqual(new Date('2099-01-01T00:00:00Z'));
  });
});
