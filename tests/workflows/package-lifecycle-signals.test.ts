/**
 * A package timer must not lose an expiry change that is signalled while one of its steps runs: the
 * step's snapshot was read before the change committed, so only the signal says the expiry moved.
 * Staged with a snapshot step that the test holds open past the workflow task's heartbeat, on the
 * time-skipping test server (time stays put: nothing here awaits a result), with in-memory steps.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { packageLifecycleWorkflow } from '../../workflows/package-lifecycle';
import { expiryChangedSignal, lifecycleStateQuery, packageLifecycleWorkflowId, type SubjectSnapshot } from '../../workflows/package-lifecycle-contract';
import { suiteWorkflowBundle } from '../support/workflow-bundle';
import { waitFor } from '../support/wait';
import { newTaskQueue, startTimeSkippingEnv } from './time-skipping';

const DAY = 86_400_000;
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startTimeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

it('re-reads the package when its expiry changed while the first snapshot was being read', async () => {
  const now = Date.now();
  const before: SubjectSnapshot = { phase: 'active', startsAt: new Date(now).toISOString(), expiresAt: new Date(now + 30 * DAY).toISOString() };
  const after: SubjectSnapshot = { ...before, expiresAt: new Date(now + 90 * DAY).toISOString() };
  let record = before;
  let reads = 0;
  let releaseFirstRead: (() => void) | undefined;
  const firstReadHeld = new Promise<void>((resolve) => { releaseFirstRead = resolve; });
  let firstReadStarted: (() => void) | undefined;
  const started = new Promise<void>((resolve) => { firstReadStarted = resolve; });
  const activities = {
    async loadPackageSnapshot(): Promise<SubjectSnapshot> {
      reads++;
      if (reads === 1) {
        const snapshot = record; // read before the change commits
        firstReadStarted!();
        await firstReadHeld;
        return snapshot;
      }
      return record;
    },
  };

  const taskQueue = newTaskQueue();
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, ...suiteWorkflowBundle(), activities, debugMode: true, maxCachedWorkflows: 0 });
  const grantId = randomUUID();
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start<typeof packageLifecycleWorkflow>('packageLifecycleWorkflow', {
      taskQueue,
      workflowId: packageLifecycleWorkflowId(grantId),
      args: [{ subjectId: grantId, userId: 'user-1' }],
      // A local step that outlives 80 % of this makes the worker heartbeat the task: the signal then
      // reaches the run while the step is still awaited, which is when the old code dropped it.
      workflowTaskTimeout: '2 seconds',
    });
    await started;
    record = after; // the admin's change commits, then the timer is told
    await handle.signal(expiryChangedSignal, { expiresAt: after.expiresAt });
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // past the task heartbeat
    releaseFirstRead!();
    const state = await waitFor(async () => {
      const current = await handle.query(lifecycleStateQuery);
      return current.expiresAt === after.expiresAt && current;
    }, 30_000, 'the timer to plan from the changed expiry');
    expect(state.expiryChanges).toBe(1);
    expect(reads).toBe(2);
    await handle.terminate('test finished');
  });
});
