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
import { ApplicationFailure } from '@temporalio/common';
import { ACTION_TIMEOUT_MS, DUNNING_SCHEDULE_MS, topUpActionCompleted } from '../../workflows/top-up-refill';
import type { ChargeResult, TopUpRefillActivities } from '../../workflows/top-up-refill-contract';
import { refillWorkflowId } from '../../modules/topups/rules/caps';
import { suiteWorkflowBundle } from '../support/workflow-bundle';
import { newTaskQueue, startTimeSkippingEnv } from './time-skipping';
import { waitFor } from '../support/wait';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startTimeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

/**
 * In-memory steps: the charge answers `answers` in turn (a requires_action answer carries a link; an
 * `Error` answer is thrown as a refusal); every call is recorded. `order` refuses the order when given.
 */
function steps(answers: ChargeResult[], claim: Awaited<ReturnType<TopUpRefillActivities['claimTopUpSlot']>> = 'claimed', orderRefusal?: string) {
  const calls: string[] = [];
  const keys: string[] = [];
  const failures: Array<string | undefined> = [];
  const links: string[] = [];
  const charge = (idempotencyKey: string): ChargeResult => {
    calls.push('charge');
    keys.push(idempotencyKey);
    return answers.shift() ?? 'declined';
  };
  const activities: TopUpRefillActivities = {
    async claimTopUpSlot() {
      calls.push('claim');
      return claim;
    },
    async placeTopUpOrder() {
      calls.push('order');
      if (orderRefusal) throw ApplicationFailure.nonRetryable('refused', orderRefusal);
      return { orderId: 'order-1' };
    },
    async chargeTopUpOffSession({ idempotencyKey }) {
      return charge(idempotencyKey);
    },
    async chargeTopUp({ idempotencyKey }) {
      const result = charge(idempotencyKey);
      return result === 'requires_action' ? { result, actionUrl: `https://bank.example/3ds?key=${encodeURIComponent(idempotencyKey)}` } : { result };
    },
    async noteTopUpActionRequired({ actionUrl }) {
      calls.push('action');
      links.push(actionUrl);
    },
    async provisionTopUp() {
      calls.push('provision');
    },
    async failTopUp({ reason }) {
      calls.push('fail');
      failures.push(reason);
    },
  };
  return { activities, calls, keys, failures, links };
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
  it('retries a refused charge after 1 hour, 1 day and 3 days, then gives up through failTopUp once (payment_declined)', async () => {
    const { activities, calls, keys, failures } = steps(['declined', 'declined', 'declined', 'declined']);
    const { result, refillId } = await run(activities, 'refill-dunning-failed');
    expect(result.outcome).toBe('failed');
    expect(result.reason).toBe('payment_declined');
    expect(result.attempts.map((a) => a.result)).toEqual(['declined', 'declined', 'declined', 'declined']);
    expectWaits(result.attempts, [HOUR, DAY, 3 * DAY]);
    expect([...DUNNING_SCHEDULE_MS]).toEqual([HOUR, DAY, 3 * DAY]);
    expect(calls).toEqual(['claim', 'order', 'charge', 'charge', 'charge', 'charge', 'fail']);
    expect(keys).toEqual([0, 1, 2, 3].map((attempt) => `${refillId}:charge:${attempt}`));
    expect(failures).toEqual(['payment_declined']);
  });

  it('requires_action: hands the link over, waits for the customer, then charges again with the same key and provisions', async () => {
    const { activities, calls, keys, links } = steps(['requires_action', 'approved']);
    const taskQueue = newTaskQueue();
    const ruleId = randomUUID();
    const refillId = refillWorkflowId(ruleId, randomUUID());
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, ...suiteWorkflowBundle(), activities, debugMode: true, maxCachedWorkflows: 0 });
    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof topUpRefillWorkflow>('topUpRefillWorkflow', { taskQueue, workflowId: refillId, args: [{ refillId, ruleId, userId: 'user-1' }] });
      // Wait (on the workflow's own history, not the clock) until the link was handed over, then confirm.
      await waitFor(() => calls.includes('action'), 30_000, 'the link handed over');
      await handle.signal(topUpActionCompleted);
      return handle.result();
    });
    await keepHistory(env.client, refillId, 'refill-requires-action-completed');
    expect(result.outcome).toBe('completed');
    expect(calls).toEqual(['claim', 'order', 'charge', 'action', 'charge', 'provision']);
    expect(keys).toEqual([`${refillId}:charge:0`, `${refillId}:charge:0`]);
    expect(links).toEqual([`https://bank.example/3ds?key=${encodeURIComponent(`${refillId}:charge:0`)}`]);
    expect(result.attempts.map((a) => a.result)).toEqual(['requires_action', 'approved']);
  });

  it('requires_action abandoned: after the timeout the refill fails (action_abandoned), no more charges', async () => {
    const { activities, calls, failures } = steps(['requires_action']);
    const { result } = await run(activities, 'refill-requires-action-abandoned');
    expect(result.outcome).toBe('failed');
    expect(result.reason).toBe('action_abandoned');
    expect(calls).toEqual(['claim', 'order', 'charge', 'action', 'fail']);
    expect(failures).toEqual(['action_abandoned']);
    expect(ACTION_TIMEOUT_MS).toBe(DAY);
  });

  it('a refused order (no usable saved method) ends the refill through failTopUp with the refusal, not a failed run with its slot claimed', async () => {
    const { activities, calls, failures } = steps([], 'claimed', 'PAYMENT_METHOD_REQUIRED');
    const { result } = await run(activities, 'refill-no-payment-method');
    expect([result.outcome, result.reason]).toEqual(['failed', 'PAYMENT_METHOD_REQUIRED']);
    expect(calls).toEqual(['claim', 'order', 'fail']);
    expect(failures).toEqual(['PAYMENT_METHOD_REQUIRED']);
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
