/**
 * Lifecycle timers on the TIME-SKIPPING test server (signals and queries only, so it applies): days
 * pass in seconds. Real activities against the suite's PostgreSQL; the workflow bundle is the
 * suite's (TEST_WORKFLOW_BUNDLE).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { createDatabase, type Database } from '../platform/database';
import { createLifecycleActivities } from '../activities/lifecycle';
import { spendableCredits } from '../modules/credits/grants';
import { changeGrantExpiry, findGrantTimes, revokeGrant } from '../modules/credits/lifecycle';
import { LifecycleTimers } from '../modules/lifecycle/timers';
import { DEFAULT_REMINDER_LEAD_DAYS } from '../modules/lifecycle/rules/lifecycle';
import { addSearchAttributes } from '../worker/search-attributes';
import { lifecycleStateQuery, packageLifecycleWorkflowId, subscriptionLifecycleWorkflowId } from '../workflows/package-lifecycle-contract';
import { expectLedgerInvariant, grantCredits, newUserId } from './support/stack';
import { suiteWorkflowBundle } from './support/workflow-bundle';
import { waitFor } from './support/wait';
import { allReplayed, replayAll } from './support/replay';

const DAY = 86_400_000;
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let db: Database;
let timers: LifecycleTimers;
const taskQueue = `lifecycle-${randomUUID()}`;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const path = execFileSync('which', ['temporal-test-server']).toString().trim();
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
  // The test server knows no custom search attributes until they are registered (the one list).
  await addSearchAttributes(env.connection, 'default');
  db = createDatabase(process.env.TEST_DATABASE_URL!, 10);
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    ...suiteWorkflowBundle(),
    activities: createLifecycleActivities({ db, timerSettings: { reminderLeadDays: DEFAULT_REMINDER_LEAD_DAYS } }),
  });
  running = worker.run();
  timers = new LifecycleTimers({ temporal: env.client, taskQueue, reminderLeadDays: DEFAULT_REMINDER_LEAD_DAYS });
}, 120_000);
afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await db?.$disconnect();
});

/** The test server's clock (it jumps ahead while workflows wait). */
async function now(): Promise<number> {
  return env.currentTimeMs();
}

/** Asks the timer's state, waiting (on the condition, as long as a loaded machine needs) for its first workflow task to finish. */
async function stateOf(workflowId: string) {
  let lastError: unknown;
  try {
    return await waitFor(
      () =>
        env.client.workflow
          .getHandle(workflowId)
          .query(lifecycleStateQuery)
          .catch((error: unknown) => {
            lastError = error;
            return undefined;
          }),
      60_000,
      `the first workflow task of ${workflowId}`,
    );
  } catch (timeout) {
    throw lastError ?? timeout;
  }
}

async function events(grantId: string) {
  return db.lifecycleEvent.findMany({ where: { subjectId: grantId }, orderBy: { id: 'asc' } });
}

async function newPackage(credits: number, days: number, startsInDays = 0, with_ = timers) {
  const userId = newUserId('lifecycle');
  const start = await now();
  const startsAt = new Date(start + startsInDays * DAY);
  const grantId = await grantCredits(db, userId, credits, {
    expiresAt: new Date(startsAt.getTime() + days * DAY),
    startsAt,
    status: startsInDays > 0 ? 'pending' : 'active',
  });
  await with_.trackPackage((await findGrantTimes(db, grantId))!);
  startedTimers.push(packageLifecycleWorkflowId(grantId));
  return { userId, grantId, start };
}

/** Package timers this file started: replayed at the end (the current code must replay its own runs). */
const startedTimers: string[] = [];

it('expires a 30-day package on day 30, voids its credits with an expire entry, and reminds 7 and 1 days before', async () => {
  const { userId, grantId, start } = await newPackage(40, 30);
  const handle = env.client.workflow.getHandle(packageLifecycleWorkflowId(grantId));
  const final = await handle.result();
  expect(final.phase).toBe('expired');
  const run = await handle.describe();
  const lasted = run.closeTime!.getTime() - run.startTime.getTime();
  expect(lasted).toBeGreaterThanOrEqual(30 * DAY - 60_000);
  expect(lasted).toBeLessThan(30 * DAY + 60_000);
  void start;

  const grant = await db.userPackage.findUniqueOrThrow({ where: { id: grantId } });
  expect(grant.status).toBe('expired');
  const expireEntries = await db.creditLedgerEntry.findMany({ where: { userPackageId: grantId, entryType: 'expire' } });
  expect(expireEntries.map((e) => e.amount)).toEqual([-40]);
  const facts = await events(grantId);
  expect(facts.map((e) => [e.kind, (e.details as { leadDays?: number } | null)?.leadDays ?? null])).toEqual([
    ['reminder', 7],
    ['reminder', 1],
    ['expired', null],
  ]);
  await expectLedgerInvariant(db, userId);
});

it('moves the timer when the expiry moves: no reminders for the old expiry after an extension', async () => {
  const { grantId, start } = await newPackage(5, 10);
  const handle = env.client.workflow.getHandle(packageLifecycleWorkflowId(grantId));
  await env.sleep('2 days'); // before the 7-day reminder (day 3)
  const moved = await changeGrantExpiry(db, grantId, new Date(start + 40 * DAY));
  await timers.packageExpiryChanged(moved.after);
  await env.sleep('20 days'); // past the old reminders and the old expiry
  const state = await handle.query(lifecycleStateQuery);
  expect(state.phase).toBe('active');
  expect(state.expiresAt).toBe(new Date(start + 40 * DAY).toISOString());
  expect(await events(grantId)).toEqual([]);
  expect((await db.userPackage.findUniqueOrThrow({ where: { id: grantId } })).status).toBe('active');
  const final = await handle.result();
  expect(final.phase).toBe('expired');
  const reminders = (await events(grantId)).filter((e) => e.kind === 'reminder').map((e) => (e.details as { expiresAt: string }).expiresAt);
  expect(reminders).toEqual([new Date(start + 40 * DAY).toISOString(), new Date(start + 40 * DAY).toISOString()]);
});

it('keeps its history bounded when extended 100 times (continue-as-new)', async () => {
  // A low threshold, so 100 extensions cross it several times (the default is 2000 events; a change
  // costs about 5 events now that the re-read is a local activity).
  const { grantId, start } = await newPackage(5, 30, 0, new LifecycleTimers({ temporal: env.client, taskQueue, reminderLeadDays: DEFAULT_REMINDER_LEAD_DAYS, maxHistoryEvents: 60 }));
  const handle = env.client.workflow.getHandle(packageLifecycleWorkflowId(grantId));
  await stateOf(packageLifecycleWorkflowId(grantId));
  const firstRun = (await handle.describe()).runId;
  for (let i = 1; i <= 100; i++) {
    const moved = await changeGrantExpiry(db, grantId, new Date(start + (30 + i) * DAY));
    await timers.packageExpiryChanged(moved.after);
  }
  const state = await waitFor(async () => {
    const current = await stateOf(packageLifecycleWorkflowId(grantId));
    // The run that answers may continue as new right after the last change: wait for a continued one.
    return current.expiresAt === new Date(start + 130 * DAY).toISOString() && current.run > 1 && current;
  }, 60_000, 'the hundredth change, in a continued run');
  expect(state.expiryChanges).toBe(100);
  expect(state.expiresAt).toBe(new Date(start + 130 * DAY).toISOString());
  const description = await handle.describe();
  expect(description.runId).not.toBe(firstRun);
  expect(state.run).toBeGreaterThan(1);
  expect(state.run).toBeGreaterThanOrEqual(2);
  expect(description.historyLength).toBeLessThan(250);
}, 120_000);

it('activates a pending package at starts_at; it cannot be spent before', async () => {
  const { userId, grantId } = await newPackage(8, 30, 5);
  const handle = env.client.workflow.getHandle(packageLifecycleWorkflowId(grantId));
  expect((await stateOf(packageLifecycleWorkflowId(grantId))).phase).toBe('pending');
  expect(await db.$transaction((tx) => spendableCredits(tx, userId, new Date()))).toBe(0);
  await env.sleep('5 days');
  // The timer fired; its activation activity may still be running.
  await waitFor(async () => (await stateOf(packageLifecycleWorkflowId(grantId))).phase === 'active', 60_000, 'the activation');
  expect((await db.userPackage.findUniqueOrThrow({ where: { id: grantId } })).status).toBe('active');
  expect((await events(grantId)).map((e) => e.kind)).toEqual(['activated']);
});

it('stops the timer on revocation', async () => {
  const { userId, grantId } = await newPackage(9, 30);
  const handle = env.client.workflow.getHandle(packageLifecycleWorkflowId(grantId));
  await revokeGrant(db, grantId, { actor: 'test', reference: grantId });
  await timers.packageRevoked(grantId, 'test');
  const final = await handle.result();
  expect(final.phase).toBe('revoked');
  expect((await handle.describe()).status.name).toBe('COMPLETED');
  expect(await db.creditLedgerEntry.count({ where: { userPackageId: grantId, entryType: 'expire' } })).toBe(0);
  await expectLedgerInvariant(db, userId);
});

it('needs no timer for a permanent package', async () => {
  const userId = newUserId('lifecycle');
  const grantId = await grantCredits(db, userId, 3, { expiresAt: null });
  expect(await timers.trackPackage((await findGrantTimes(db, grantId))!)).toBe(false);
});

it('lapses a subscription at period end; a renewal before it moves the timer', async () => {
  const userId = newUserId('lifecycle');
  const start = await now();
  const pkg = await db.billingPackage.findUniqueOrThrow({ where: { code: 'monthly_membership' } });
  const subscription = await db.subscription.create({
    data: { userId, packageId: pkg.id, currentPeriodStart: new Date(start), currentPeriodEnd: new Date(start + 30 * DAY) },
  });
  await timers.subscriptionPeriodChanged(subscription);
  const handle = env.client.workflow.getHandle(subscriptionLifecycleWorkflowId(subscription.id));
  await env.sleep('25 days');
  // A renewal (the order workflow provisions a new period): the period end moves by 30 days.
  const renewed = await db.subscription.update({ where: { id: subscription.id }, data: { currentPeriodEnd: new Date(start + 60 * DAY) } });
  await timers.subscriptionPeriodChanged(renewed);
  await env.sleep('10 days'); // past the old period end
  expect((await db.subscription.findUniqueOrThrow({ where: { id: subscription.id } })).status).toBe('active');
  const final = await handle.result();
  expect(final.phase).toBe('expired');
  const run = await handle.describe();
  expect(run.closeTime!.getTime() - run.startTime.getTime()).toBeGreaterThanOrEqual(60 * DAY - 60_000);
  expect((await db.subscription.findUniqueOrThrow({ where: { id: subscription.id } })).status).toBe('expired');
  const kinds = (await events(subscription.id)).map((e) => e.kind);
  expect(kinds.filter((k) => k === 'lapsed')).toHaveLength(1);
});

/** The events of a timer's history before its first timer: what its first workflow task did. */
async function firstTaskOf(workflowId: string) {
  const all = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const firstTimer = all.findIndex((event) => event.timerStartedEventAttributes);
  expect(firstTimer).toBeGreaterThan(0);
  const before = all.slice(0, firstTimer);
  return {
    reads: before.filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_local_activity').length,
    statusPublished: before.filter((event) => Object.keys(event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}).includes('PackageStatus')).length,
    signals: all.filter((event) => event.workflowExecutionSignaledEventAttributes).length,
  };
}

it('a timer started with its package snapshot plans without a read and expires the package on time; one started without (older starters) reads it first', async () => {
  const { userId, grantId } = await newPackage(20, 10);
  const workflowId = packageLifecycleWorkflowId(grantId);
  const state = await stateOf(workflowId);
  expect(state).toMatchObject({ phase: 'active', next: { kind: 'remind' } });
  expect(await firstTaskOf(workflowId)).toEqual({ reads: 0, statusPublished: 0, signals: 0 });
  // The starter set the snapshot's search attributes, so the run is found by them without publishing them.
  const grant = (await findGrantTimes(db, grantId))!;
  const described = await env.client.workflow.getHandle(workflowId).describe();
  expect(described.searchAttributes.PackageStatus).toEqual(['active']);
  expect((described.searchAttributes.ExpiresAt as Date[])[0]!.getTime()).toBe(grant.expiresAt!.getTime());
  const handle = env.client.workflow.getHandle(workflowId);
  expect((await handle.result()).phase).toBe('expired');
  const run = await handle.describe();
  expect(run.closeTime!.getTime()).toBeGreaterThanOrEqual(grant.expiresAt!.getTime());
  expect(run.closeTime!.getTime()).toBeLessThan(grant.expiresAt!.getTime() + 60_000);
  expect((await db.creditLedgerEntry.findMany({ where: { userPackageId: grantId, entryType: 'expire' } })).map((e) => e.amount)).toEqual([-20]);
  await expectLedgerInvariant(db, userId);

  // A run started the way timers were started before (no snapshot in its input) still reads its subject.
  const older = await grantCredits(db, userId, 5, { expiresAt: new Date((await now()) + 3 * DAY) });
  const olderId = packageLifecycleWorkflowId(older);
  await env.client.workflow.start('packageLifecycleWorkflow', { workflowId: olderId, taskQueue, args: [{ subjectId: older, userId }] });
  startedTimers.push(olderId);
  expect((await stateOf(olderId)).expiresAt).toBe((await findGrantTimes(db, older))!.expiresAt!.toISOString());
  expect(await firstTaskOf(olderId)).toMatchObject({ reads: 1, statusPublished: 1 });
  expect((await env.client.workflow.getHandle(olderId).result()).phase).toBe('expired');
  expect((await db.userPackage.findUniqueOrThrow({ where: { id: older } })).status).toBe('expired');
});

it("a new subscription's timer is started without a signal; a renewal signals it and moves its lapse", async () => {
  const signalled: string[] = [];
  const counting = new Client({
    connection: env.connection,
    interceptors: { workflow: [{ signal: (input, next) => (signalled.push(input.workflowExecution.workflowId), next(input)) }] },
  });
  const countingTimers = new LifecycleTimers({ temporal: counting, taskQueue, reminderLeadDays: DEFAULT_REMINDER_LEAD_DAYS });
  const userId = newUserId('lifecycle');
  const start = await now();
  const pkg = await db.billingPackage.findUniqueOrThrow({ where: { code: 'monthly_membership' } });
  const subscription = await db.subscription.create({
    data: { userId, packageId: pkg.id, currentPeriodStart: new Date(start), currentPeriodEnd: new Date(start + 30 * DAY) },
  });
  const workflowId = subscriptionLifecycleWorkflowId(subscription.id);

  await countingTimers.subscriptionStarted(subscription);
  expect(signalled).toEqual([]); // no signal tried (and failed) before the start
  expect(await stateOf(workflowId)).toMatchObject({ phase: 'active', expiresAt: subscription.currentPeriodEnd!.toISOString(), expiryChanges: 0 });
  expect(await firstTaskOf(workflowId)).toEqual({ reads: 0, statusPublished: 0, signals: 0 });
  await countingTimers.subscriptionStarted(subscription); // a retried step: the running timer is kept
  expect(signalled).toEqual([]);
  expect((await stateOf(workflowId)).run).toBe(1);

  // The renewal path still signals the running timer, which re-reads the period and re-plans.
  await env.sleep('25 days');
  const renewed = await db.subscription.update({ where: { id: subscription.id }, data: { currentPeriodEnd: new Date(start + 60 * DAY) } });
  await countingTimers.subscriptionPeriodChanged(renewed);
  expect(signalled).toEqual([workflowId]);
  await env.sleep('10 days'); // past the old period end
  expect((await db.subscription.findUniqueOrThrow({ where: { id: subscription.id } })).status).toBe('active');
  const final = await env.client.workflow.getHandle(workflowId).result();
  expect(final).toMatchObject({ phase: 'expired', expiryChanges: 1, expiresAt: renewed.currentPeriodEnd!.toISOString() });
  expect((await db.subscription.findUniqueOrThrow({ where: { id: subscription.id } })).status).toBe('expired');
  expect((await events(subscription.id)).filter((e) => e.kind === 'lapsed')).toHaveLength(1);
});

it('replays the package timers it ran (local-activity steps, patch marker) under the same code', async () => {
  const histories = await Promise.all(
    startedTimers.map(async (workflowId) => ({ workflowId, history: await env.client.workflow.getHandle(workflowId).fetchHistory() })),
  );
  expect(histories.length).toBeGreaterThanOrEqual(3);
  const markers = histories.flatMap(({ history }) => (history.events ?? []).filter((event) => event.markerRecordedEventAttributes));
  expect(markers.length).toBeGreaterThan(0); // the steps ran as local activities
  expect(await replayAll(histories)).toEqual(allReplayed(histories));
});
