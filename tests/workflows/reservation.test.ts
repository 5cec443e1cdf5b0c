/**
 * The reservation workflow on its own, fast: messages, timers and state, with the credit engine
 * replaced by an in-memory fake that honours the activities' contract (fake-credit-engine.ts).
 *
 * Server: the time-skipping test server (time-skipping.ts), because what this file tests is time —
 * a 15-minute hold deadline, a 30-day refund window — and it runs those in milliseconds. It supports
 * everything the workflow uses here (Updates, Update-With-Start, queries, search attributes once
 * registered) except a continue-as-new suggestion, which tests/history-bound.test.ts covers on the
 * dev server; the API and the real engine with PostgreSQL are covered by tests/reservations.test.ts.
 * The replay tests at the end need no server: replay runs in the worker alone.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { reservationWorkflow } from '../../workflows/reservation';
import {
  commitUpdate,
  extendUpdate,
  refundUpdate,
  releaseUpdate,
  reservationWorkflowId,
  reserveUpdate,
  stateQuery,
  type OperationKey,
  type ReservationInput,
  type ReservationState,
} from '../../workflows/reservation-contract';
import { ReservationStatusKey } from '../../workflows/search-attributes';
import { FakeCreditEngine } from './fake-credit-engine';
import { newTaskQueue, startTimeSkippingEnv, withWorker } from './time-skipping';
import { allReplayed, recordedHistories, replayAll } from '../support/replay';

const MINUTE = 60_000;
const DAY = 86_400_000;

let env: TestWorkflowEnvironment;
/** Every run this file starts, replayed by the last test. */
const runs: Array<WorkflowHandle<typeof reservationWorkflow>> = [];
/** Runs the current test started; it leaves none of them running. */
let runsOfThisTest: Array<WorkflowHandle<typeof reservationWorkflow>> = [];

beforeAll(async () => {
  env = await startTimeSkippingEnv();
});
afterEach(async () => {
  // Time skipping is global to the server: a run left open (a 30-day refund window, or a failed test's)
  // would later fire a timer on a task queue nobody polls any more, and the server does not skip time
  // past an outstanding workflow task. So each test leaves nothing running.
  const open = new Map(runsOfThisTest.map((handle) => [handle.workflowId, handle]));
  runsOfThisTest = [];
  await Promise.all(
    [...open.values()].map(async (handle) => {
      if ((await handle.describe()).status.name === 'RUNNING') await handle.terminate('test finished');
    }),
  );
});
afterAll(async () => {
  await env?.teardown();
});

function track(handle: WorkflowHandle<typeof reservationWorkflow>): void {
  runs.push(handle);
  runsOfThisTest.push(handle);
}

function reservationInput(overrides: Partial<ReservationInput> = {}): ReservationInput {
  return {
    reservationId: randomUUID(),
    userId: 'user-1',
    actionKey: 'ai_chat',
    quantity: 5,
    holdSeconds: 15 * 60,
    maxHoldSeconds: 24 * 3600,
    refundWindowSeconds: 30 * 86_400,
    requestHash: 'reserve-hash',
    actor: 'service:test',
    ...overrides,
  };
}

function op(key: string, requestHash = `${key}-hash`): OperationKey {
  return { scope: 'service:test', key, requestHash, actor: 'service:test' };
}

const now = async () => env.currentTimeMs();

/** Reserve as the API does: Update-With-Start, waiting for the hold. */
async function reserve(taskQueue: string, input: ReservationInput) {
  const start = new WithStartWorkflowOperation<typeof reservationWorkflow>('reservationWorkflow', {
    workflowId: reservationWorkflowId(input.reservationId),
    taskQueue,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  const reply = env.client.workflow.executeUpdateWithStart(reserveUpdate, { args: [{ requestHash: input.requestHash }], startWorkflowOperation: start });
  reply.catch(() => {}); // awaited by the test; a refusal must not count as unhandled meanwhile
  const handle = await start.workflowHandle();
  track(handle);
  return { reply, handle };
}

/** Starts the workflow without an update (as a continue-as-new does, when `carried` is given). */
async function start(taskQueue: string, input: ReservationInput, carried?: ReservationState) {
  const handle = await env.client.workflow.start<typeof reservationWorkflow>('reservationWorkflow', {
    workflowId: reservationWorkflowId(input.reservationId),
    taskQueue,
    args: carried ? [input, carried] : [input],
  });
  track(handle);
  return handle;
}

/** State a continue-as-new carries for a held reservation (the hold placed in `engine` directly). */
async function heldState(engine: FakeCreditEngine, input: ReservationInput, expiresAt: number, operations: Record<string, string> = {}) {
  const hold = await engine.activities.holdCredits(
    { ...input, workflowId: reservationWorkflowId(input.reservationId), expiresAt: new Date(expiresAt).toISOString() },
    input.actor,
  );
  if (!hold.ok) throw new Error(`hold refused: ${hold.refusal.code}`);
  engine.calls.length = 0;
  const state: ReservationState = {
    phase: 'held',
    reservation: hold.value,
    consumption: null,
    refunds: [],
    rejection: null,
    operations,
    refundWindowEndsAt: null,
  };
  return state;
}

/** The refusal a workflow or activity gave, with its stable code. */
async function refusalOf(promise: Promise<unknown>): Promise<{ code: string; message: string; details: any }> {
  try {
    await promise;
  } catch (error) {
    const cause = error instanceof WorkflowUpdateFailedError ? error.cause : error;
    if (cause instanceof ApplicationFailure && cause.type) return { code: cause.type, message: cause.message, details: cause.details?.[0] };
    throw error;
  }
  throw new Error('expected a refusal, got an answer');
}

describe('reservation workflow (time-skipping test server, in-memory credit engine)', () => {
  it('reserve holds the credits with a deadline computed from workflow time, and shows it in state and search attributes', async () => {
    const taskQueue = newTaskQueue();
    const engine = new FakeCreditEngine(10, now);
    await withWorker(env, { taskQueue, activities: engine.activities }, async () => {
      const before = await now();
      const { reply, handle } = await reserve(taskQueue, reservationInput());
      const reservation = await reply;
      const after = await now();
      expect(reservation).toMatchObject({ status: 'held', quantity: 5, creditsHeld: 5 });
      const expiresAt = Date.parse(reservation.expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 15 * MINUTE - 1000);
      expect(expiresAt).toBeLessThanOrEqual(after + 15 * MINUTE);
      expect(engine.available).toBe(5);
      expect((await handle.query(stateQuery)).phase).toBe('held');
      expect((await handle.describe()).typedSearchAttributes.get(ReservationStatusKey)).toBe('held');
      await handle.executeUpdate(releaseUpdate, { args: [op('release')] });
    });
  });

  it('releases a 15-minute hold automatically at its deadline (auto-release)', async () => {
    const taskQueue = newTaskQueue();
    const engine = new FakeCreditEngine(10, now);
    await withWorker(env, { taskQueue, activities: engine.activities }, async () => {
      const { reply, handle } = await reserve(taskQueue, reservationInput());
      const held = await reply;
      const final = await handle.result(); // the test server skips to the deadline
      expect(final.phase).toBe('expired');
      expect(engine.calls).toEqual(['holdCredits', 'expireReservation']);
      expect(engine.available).toBe(10);
      const settledAt = Date.parse(engine.reservations.get(held.id)!.settledAt!);
      expect(settledAt).toBeGreaterThanOrEqual(Date.parse(held.expiresAt));
      expect((await handle.describe()).typedSearchAttributes.get(ReservationStatusKey)).toBe('expired');
    });
  });

  it('refuses a commit that reaches the workflow at or after its deadline, before the deadline timer has run', async () => {
    // A run whose deadline has passed while nothing ran it (no worker, say; here: the state a
    // continue-as-new carried), and a commit that arrives in the same workflow task as the deadline.
    const taskQueue = newTaskQueue();
    const engine = new FakeCreditEngine(10, now);
    const input = reservationInput();
    const carried = await heldState(engine, input, (await now()) - MINUTE);
    const start = new WithStartWorkflowOperation<typeof reservationWorkflow>('reservationWorkflow', {
      workflowId: reservationWorkflowId(input.reservationId),
      taskQueue,
      args: [input, carried],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    await withWorker(env, { taskQueue, activities: engine.activities }, async () => {
      const lateCommit = env.client.workflow.executeUpdateWithStart(commitUpdate, { args: [{ ...op('late-commit'), quantity: 2 }], startWorkflowOperation: start });
      lateCommit.catch(() => {}); // awaited below
      const handle = await start.workflowHandle();
      track(handle);
      expect(await refusalOf(lateCommit)).toMatchObject({
        code: 'RESERVATION_NOT_HELD',
        message: 'The hold has reached its deadline.',
        details: { status: 'expired' },
      });
      expect((await handle.result()).phase).toBe('expired');
    });
    expect(engine.calls).toEqual(['expireReservation']);
    expect(engine.available).toBe(10);
  });

  it('extend moves the deadline (the timer follows it) and a hold past the maximum is refused before it runs', async () => {
    const taskQueue = newTaskQueue();
    const engine = new FakeCreditEngine(10, now);
    await withWorker(env, { taskQueue, activities: engine.activities }, async () => {
      const { reply, handle } = await reserve(taskQueue, reservationInput({ maxHoldSeconds: 3600 }));
      const held = await reply;
      await env.sleep(10 * MINUTE);
      const extended = await handle.executeUpdate(extendUpdate, { args: [{ ...op('extend'), holdSeconds: 30 * 60 }] });
      expect(Date.parse(extended.expiresAt)).toBeGreaterThanOrEqual(Date.parse(held.createdAt) + 40 * MINUTE - 1000);

      const tooLong = await refusalOf(handle.executeUpdate(extendUpdate, { args: [{ ...op('extend-too-long'), holdSeconds: 3600 }] }));
      expect(tooLong).toMatchObject({
        code: 'HOLD_LIMIT_EXCEEDED',
        details: { maxHoldSeconds: 3600, latestExpiresAt: new Date(Date.parse(held.createdAt) + 3600_000).toISOString() },
      });

      await env.sleep(20 * MINUTE); // past the first deadline (15 min), not the extended one (40 min)
      expect((await handle.query(stateQuery)).phase).toBe('held');
      expect((await handle.result()).phase).toBe('expired');
      expect(await now()).toBeGreaterThanOrEqual(Date.parse(extended.expiresAt));
      expect(engine.calls).toEqual(['holdCredits', 'extendReservation', 'expireReservation']);
    });
  });

  it('commits less than held, takes refunds during the 30-day refund window, then closes', async () => {
    const taskQueue = newTaskQueue();
    const engine = new FakeCreditEngine(10, now);
    await withWorker(env, { taskQueue, activities: engine.activities }, async () => {
      const { reply, handle } = await reserve(taskQueue, reservationInput());
      await reply;
      const beforeCommit = await now();
      const committed = await handle.executeUpdate(commitUpdate, { args: [{ ...op('commit'), quantity: 3 }] });
      expect(committed.consumption).toMatchObject({ quantity: 3, creditsCost: 3 });
      expect(engine.available).toBe(7);
      const state = await handle.query(stateQuery);
      expect(state.phase).toBe('committed');
      const windowEndsAt = Date.parse(state.refundWindowEndsAt!);
      expect(windowEndsAt).toBeGreaterThanOrEqual(beforeCommit + 30 * DAY);
      expect(windowEndsAt).toBeLessThanOrEqual((await now()) + 30 * DAY);

      await env.sleep(29 * DAY);
      const refund = await handle.executeUpdate(refundUpdate, { args: [{ ...op('refund'), credits: 1, reason: 'action failed' }] });
      expect(refund).toMatchObject({ credits: 1, consumptionCreditsRefunded: 1 });

      const final = await handle.result(); // skips to the end of the window
      expect(await now()).toBeGreaterThanOrEqual(windowEndsAt);
      expect(final).toMatchObject({ phase: 'committed', consumption: { creditsRefunded: 1 } });
      expect(final.refunds).toHaveLength(1);
      expect(engine.available).toBe(8);
    });
  });

  it('closes before the refund window ends once everything is refunded', async () => {
    const taskQueue = newTaskQueue();
    const engine = new FakeCreditEngine(10, now);
    await withWorker(env, { taskQueue, activities: engine.activities }, async () => {
      const { reply, handle } = await reserve(taskQueue, reservationInput());
      await reply;
      await handle.executeUpdate(commitUpdate, { args: [op('commit')] });
      const windowEndsAt = Date.parse((await handle.query(stateQuery)).refundWindowEndsAt!);
      await handle.executeUpdate(refundUpdate, { args: [{ ...op('refund-all'), reason: 'action failed' }] });
      expect((await handle.result()).consumption).toMatchObject({ creditsCost: 5, creditsRefunded: 5 });
      // The run's close time, not the server's clock: the test server, once allowed to skip, also
      // skips to timers a run has cancelled (here the window's), even after the run closed.
      expect((await handle.describe()).closeTime!.getTime()).toBeLessThan(windowEndsAt);
      expect(engine.available).toBe(10);
    });
  });

  it('a commit of more than is held is refused by the credit engine, and the hold stays as it was', async () => {
    const taskQueue = newTaskQueue();
    const engine = new FakeCreditEngine(10, now);
    await withWorker(env, { taskQueue, activities: engine.activities }, async () => {
      const { reply, handle } = await reserve(taskQueue, reservationInput());
      await reply;
      const tooMuch = await refusalOf(handle.executeUpdate(commitUpdate, { args: [{ ...op('commit-6'), quantity: 6 }] }));
      expect(tooMuch).toMatchObject({ code: 'COMMIT_EXCEEDS_HOLD', details: { held: 5, requested: 6 } });
      expect((await handle.query(stateQuery)).phase).toBe('held');
      const released = await handle.executeUpdate(releaseUpdate, { args: [op('release')] });
      expect(released.status).toBe('released');
      expect(engine.available).toBe(10);
      expect((await handle.result()).phase).toBe('released');
    });
  });

  it('a reserve the credits cannot cover, or longer than the maximum hold, is refused and the run ends rejected', async () => {
    const taskQueue = newTaskQueue();
    const engine = new FakeCreditEngine(4, now);
    await withWorker(env, { taskQueue, activities: engine.activities }, async () => {
      const short = await reserve(taskQueue, reservationInput());
      expect(await refusalOf(short.reply)).toMatchObject({ code: 'INSUFFICIENT_CREDITS', details: { required: 5, available: 4 } });
      expect(await short.handle.result()).toMatchObject({ phase: 'rejected', reservation: null });

      const tooLong = await reserve(taskQueue, reservationInput({ quantity: 1, holdSeconds: 3601, maxHoldSeconds: 3600 }));
      expect(await refusalOf(tooLong.reply)).toMatchObject({ code: 'HOLD_LIMIT_EXCEEDED', details: { maxHoldSeconds: 3600 } });
      expect((await tooLong.handle.result()).phase).toBe('rejected');
      expect((await tooLong.handle.describe()).typedSearchAttributes.get(ReservationStatusKey)).toBe('rejected');
    });
    expect(engine.calls).toEqual(['holdCredits']); // the over-long hold never reached the engine
    expect(engine.available).toBe(4);
  });

  it('replays a request sent again with its key, and refuses the key with other parameters', async () => {
    const taskQueue = newTaskQueue();
    const engine = new FakeCreditEngine(10, now);
    await withWorker(env, { taskQueue, activities: engine.activities }, async () => {
      const input = reservationInput();
      const { reply, handle } = await reserve(taskQueue, input);
      const held = await reply;
      const again = await reserve(taskQueue, input);
      expect((await again.reply).id).toBe(held.id);
      const otherReserve = await reserve(taskQueue, { ...input, quantity: 6, requestHash: 'other-reserve-hash' });
      expect((await refusalOf(otherReserve.reply)).code).toBe('IDEMPOTENCY_KEY_REUSED');

      const first = await handle.executeUpdate(commitUpdate, { args: [{ ...op('commit', 'commit-2'), quantity: 2 }] });
      const replayed = await handle.executeUpdate(commitUpdate, { args: [{ ...op('commit', 'commit-2'), quantity: 2 }] });
      expect(replayed.consumption.id).toBe(first.consumption.id);
      const changed = await refusalOf(handle.executeUpdate(commitUpdate, { args: [{ ...op('commit', 'commit-3'), quantity: 3 }] }));
      expect(changed.code).toBe('IDEMPOTENCY_KEY_REUSED');
      expect(engine.available).toBe(8);
      expect(engine.calls.filter((call) => call === 'holdCredits')).toHaveLength(1);
    });
  });

  it('a commit racing a release settles the reservation once: one state-changing step at a time', async () => {
    const taskQueue = newTaskQueue();
    const engine = new FakeCreditEngine(10, now);
    const { handle } = await withWorker(env, { taskQueue, activities: engine.activities }, async () => {
      const reserved = await reserve(taskQueue, reservationInput());
      await reserved.reply;
      return reserved;
    });
    // Sent while no worker runs, both reach the workflow in one task: both handlers start together.
    const racing = Promise.allSettled([
      handle.executeUpdate(commitUpdate, { args: [{ ...op('race-commit'), quantity: 5 }] }),
      handle.executeUpdate(releaseUpdate, { args: [op('race-release')] }),
    ]);
    await withWorker(env, { taskQueue, activities: engine.activities }, async () => {
      const [commit, release] = await racing;
      expect([commit.status, release.status].sort()).toEqual(['fulfilled', 'rejected']);
      const final = await handle.result();
      expect(engine.available).toBe(final.phase === 'released' ? 10 : 5);
      expect(engine.reservations.get(final.reservation!.id)!.status).toBe(final.phase);
    });
    expect(engine.maxConcurrent).toBe(1);
  });

  it('a run continued as new keeps its deadline: a carried hold is not placed again and expires on time', async () => {
    const taskQueue = newTaskQueue();
    const engine = new FakeCreditEngine(10, now);
    const input = reservationInput();
    const carried = await heldState(engine, input, (await now()) + 5 * MINUTE, { 'service:test:extend': 'extend-hash' });
    await withWorker(env, { taskQueue, activities: engine.activities }, async () => {
      const handle = await start(taskQueue, input, carried);
      // A key the earlier run saw is still known.
      expect((await refusalOf(handle.executeUpdate(extendUpdate, { args: [{ ...op('extend', 'other'), holdSeconds: 60 }] }))).code).toBe(
        'IDEMPOTENCY_KEY_REUSED',
      );
      expect((await handle.result()).phase).toBe('expired');
      expect(await now()).toBeGreaterThanOrEqual(Date.parse(carried.reservation!.expiresAt));
    });
    expect(engine.calls).toEqual(['expireReservation']);
  });

  it('replays every history this file produced (the workflow code is deterministic)', async () => {
    expect(runs.length).toBeGreaterThanOrEqual(10);
    const histories = await Promise.all(runs.map(async (handle) => ({ workflowId: handle.workflowId, history: await handle.fetchHistory() })));
    const results = await replayAll(histories);
    expect(results.filter((r) => r.error)).toEqual([]);
    expect(results).toHaveLength(histories.length);
  });

  /**
   * Runs that started under earlier workflow code must still replay under the current code, or a
   * deploy breaks them mid-flight (a nondeterminism error stalls each such run).
   *
   * histories/de068ee/: reservation runs recorded on the Temporal dev server from the workflow as of
   * commit de068ee (before the handler/mutex/updatable-timer rewrite), with in-memory activities:
   * commit less than held + refunds until the window closes; extend, an extend past the maximum and
   * a commit of more than held (both refused), then expiry at the deadline; release; a hold refused
   * for lack of credits; a commit and a release sent together. (That code failed to replay the last
   * one itself, with a nondeterminism error on the cancelled deadline timer; the current code replays it.)
   */
  it('replays every run recorded under the previous workflow code', async () => {
    const recorded = path.join(__dirname, 'histories', 'de068ee');
    const histories = recordedHistories(recorded);
    expect(histories.length).toBeGreaterThanOrEqual(5);
    expect(await replayAll(histories)).toEqual(allReplayed(histories));
  });

  /**
   * histories/2f49b9f-reservations/: runs started by the API with the hold already placed (`input.held`,
   * the run starts in `held`), recorded on the dev server through the HTTP API at 2f49b9f: extended, then
   * committed in part and refunded until nothing was left; released; expired at its deadline; a commit and a
   * release sent together (still open, in its refund window).
   */
  it('replays runs started with the API\'s hold, recorded when that started', async () => {
    const histories = recordedHistories(path.join(__dirname, 'histories', '2f49b9f-reservations'));
    expect(histories.length).toBe(4);
    expect(await replayAll(histories)).toEqual(allReplayed(histories));
  });
});
