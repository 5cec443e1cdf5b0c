/**
 * The refill workflow's dunning on the time-skipping test server (durable timers of 1 hour, 1 day and
 * 3 days fire in milliseconds; no wall-clock waits), with in-memory steps: the schedule, the one
 * provisioning after an approval, the per-attempt idempotency keys, and the rule paused after the last
 * refusal.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { keepHistory } from './record-history';
import type { topUpRefillWorkflow } from '../../workflows/top-up-refill';
import { DUNNING_SCHEDULE_MS } from '../../workflows/top-up-refill';
import type { ChargeResult, TopUpRefillActivities } from '../../workflows/top-up-refill-contract';
import { refillWorkflowId } from '../../modules/topups/rules/caps';
import { suiteWorkflowBundle } from '../support/workflow-bundle';
import { newTaskQueue, startTimeSkippingEnv } from './time-skipping';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startTimeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

/** In-memory steps: the charge answers `answers` in turn; every call is recorded. */
function steps(answers: ChargeResult[], claim: Awaited<ReturnType<TopUpRefillActivities['claimTopUpSlot']>> = 'claimed') {
  const calls: string[] = [];
  const keys: string[] = [];
  const activities: TopUpRefillActivities = {
    async claimTopUpSlot() {
      calls.push('claim');
      return claim;
    },
    async placeTopUpOrder() {
      calls.push('order');
      return { orderId: 'order-1' };
    },
    async chargeTopUpOffSession({ idempotencyKey }) {
      calls.push('charge');
      keys.push(idempotencyKey);
      return answers.shift() ?? 'declined';
    },
    async provisionTopUp() {
      calls.push('provision');
    },
    async failTopUp() {
      calls.push('fail');
    },
  };
  return { activities, calls, keys };
}

async function run(activities: TopUpRefillActivities, historyName?: string) {
  const taskQueue = newTaskQueue();
  const ruleId = randomUUID();
  const refillId = refillWorkflowId(ruleId, randomUUID());
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, ...suiteWorkflowBundle(), activities, debugMode: true, maxCachedWorkflows: 0 });
  const result = await worker.runUntil(
    env.client.workflow.execute<typeof topUpRefillWorkflow>('topUpRefillWorkflow', { taskQueue, workflowId: refillId, args: [{ refillId, ruleId, userId: 'user-1' }] }),
  );
  if (historyName) await keepHistory(env.client, refillId, historyName);
  return { result, refillId };
}

function gaps(attempts: Array<{ at: string }>): number[] {
  return attempts.slice(1).map((attempt, index) => Date.parse(attempt.at) - Date.parse(attempts[index]!.at));
}

/**
 * Each gap is the timer plus the real time the charge step took (the test server skips only the
 * timer): at least the schedule's wait, and far below the next wait.
 */
function expectWaits(attempts: Array<{ at: string }>, waits: number[]): void {
  const measured = gaps(attempts);
  expect(measured).toHaveLength(waits.length);
  measured.forEach((gap, index) => {
    expect(gap).toBeGreaterThanOrEqual(waits[index]!);
    expect(gap).toBeLessThan(waits[index]! + 60_000);
  });
}

describe('top-up refill workflow', () => {
  it('retries a refused charge after 1 hour, 1 day and 3 days, then gives up through failTopUp once', async () => {
    const { activities, calls, keys } = steps(['declined', 'requires_action', 'declined', 'declined']);
    const { result, refillId } = await run(activities, 'refill-dunning-requires-action-as-decline');
    expect(result.outcome).toBe('failed');
    expect(result.attempts.map((a) => a.result)).toEqual(['declined', 'requires_action', 'declined', 'declined']);
    expectWaits(result.attempts, [HOUR, DAY, 3 * DAY]);
    expect([...DUNNING_SCHEDULE_MS]).toEqual([HOUR, DAY, 3 * DAY]);
    expect(calls).toEqual(['claim', 'order', 'charge', 'charge', 'charge', 'charge', 'fail']);
    expect(keys).toEqual([0, 1, 2, 3].map((attempt) => `${refillId}:charge:${attempt}`));
  });

  it('provisions once when a retry is approved, and stops retrying', async () => {
    const { activities, calls } = steps(['declined', 'approved']);
    const { result } = await run(activities, 'refill-approved-on-retry');
    expect(result.outcome).toBe('completed');
    expectWaits(result.attempts, [HOUR]);
    expect(calls).toEqual(['claim', 'order', 'charge', 'charge', 'provision']);
  });

  it('buys nothing when the month is capped or the rule paused', async () => {
    for (const [claim, outcome] of [['capped', 'capped'], ['paused', 'skipped']] as const) {
      const { activities, calls } = steps([], claim);
      const { result } = await run(activities, `refill-${outcome}`);
      expect([result.outcome, calls]).toEqual([outcome, ['claim']]);
    }
  });

  it('one refill per crossing: a second start with the same id is refused while the first runs', async () => {
    const { activities } = steps(['declined']);
    const taskQueue = newTaskQueue();
    const ruleId = randomUUID();
    const refillId = refillWorkflowId(ruleId, 'event-1');
    const first = await env.client.workflow.start<typeof topUpRefillWorkflow>('topUpRefillWorkflow', { taskQueue, workflowId: refillId, args: [{ refillId, ruleId, userId: 'user-1' }] });
    await expect(
      env.client.workflow.start<typeof topUpRefillWorkflow>('topUpRefillWorkflow', { taskQueue, workflowId: refillId, args: [{ refillId, ruleId, userId: 'user-1' }] }),
    ).rejects.toMatchObject({ name: 'WorkflowExecutionAlreadyStartedError' });
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, ...suiteWorkflowBundle(), activities, debugMode: true, maxCachedWorkflows: 0 });
    expect((await worker.runUntil(first.result())).outcome).toBe('failed');
  });
});
