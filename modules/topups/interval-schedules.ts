/**
 * Interval rules on Temporal Schedules: one Schedule per interval rule, `top-up-rule-<ruleId>`, firing at
 * 00:00 UTC on the rule's day each month and starting the launcher `topUpIntervalWorkflow`
 * (workflows/top-up-interval.ts), which claims and starts the month's refill `top-up-<ruleId>-<YYYY-MM>`.
 *
 * The rule's row is the truth; the Schedule follows it. After each write of a rule has committed, the API
 * calls `syncRuleSchedule`, which reads the rule as it is now and makes the Schedule match: created when
 * missing (a fixed id, so a retry or a concurrent create finds the one there: ScheduleAlreadyRunning),
 * paused or unpaused with the rule, deleted with it. When Temporal does not answer, the request answers
 * 503 and the same call again (the same Idempotency-Key replays the rule) repairs the Schedule. A run
 * fired while the rule is paused, gone or its Schedule out of step claims nothing: the launcher reads the
 * rule too.
 *
 * Overlap ALLOW_ALL: runs are short and dedup by the refill id, so a run never waits behind or is skipped
 * for another (a stuck run never costs a month). Catch-up 7 days: after an outage of up to a week the
 * month's run still happens (in the month it was due, the launcher names it by its scheduled time);
 * a longer one skips that month rather than charging the user weeks late.
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { BillingError } from '../../platform/errors';
import type { Database } from '../../platform/database';
import type { TopUpIntervalInput } from '../../workflows/top-up-interval-contract';
import type { TopUpRule } from '../../generated/prisma/client';
import { claimInTx } from './refills';
import { startRefill, type RefillStartDeps } from './refill-start';
import { monthOf, refillWorkflowId } from './rules/caps';

export const INTERVAL_CATCHUP_WINDOW = '7 days';

/** The Schedule of an interval rule: one per rule. */
export function topUpRuleScheduleId(ruleId: string): string {
  return `top-up-rule-${ruleId}`;
}

function scheduleNote(rule: TopUpRule): string {
  return `Top-up rule ${rule.id} (user ${rule.userId}): buys ${rule.packageCode} on day ${rule.dayOfMonth} of each month (UTC).`;
}

async function createSchedule(temporal: Client, taskQueue: string, rule: TopUpRule): Promise<void> {
  try {
    await temporal.schedule.create({
      scheduleId: topUpRuleScheduleId(rule.id),
      spec: { calendars: [{ dayOfMonth: rule.dayOfMonth!, hour: 0, minute: 0, second: 0, comment: `day ${rule.dayOfMonth} of each month, 00:00 UTC` }], timezone: 'UTC' },
      action: {
        type: 'startWorkflow',
        workflowType: 'topUpIntervalWorkflow',
        // The Schedule appends each run's timestamp to this id.
        workflowId: `top-up-interval-${rule.id}`,
        taskQueue,
        args: [{ ruleId: rule.id, userId: rule.userId } satisfies TopUpIntervalInput],
        workflowExecutionTimeout: '1 day',
      },
      policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL, catchupWindow: INTERVAL_CATCHUP_WINDOW, pauseOnFailure: false },
      state: { note: scheduleNote(rule), paused: rule.status !== 'active' },
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
}

async function deleteSchedule(temporal: Client, ruleId: string): Promise<void> {
  try {
    await temporal.schedule.getHandle(topUpRuleScheduleId(ruleId)).delete();
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
  }
}

/**
 * Makes the rule's Schedule match the rule as it is now (see the file comment). A threshold rule has
 * none and costs no Temporal call (a rule's kind never changes), so its writes never wait on Temporal.
 * Temporal not answering is SERVICE_UNAVAILABLE: the caller retries the same call.
 */
export async function syncRuleSchedule(deps: RefillStartDeps, written: { id: string; kind: 'threshold' | 'interval' }): Promise<void> {
  if (written.kind !== 'interval') return;
  const ruleId = written.id;
  const rule = await deps.db.topUpRule.findUnique({ where: { id: ruleId } });
  try {
    if (!rule || rule.kind !== 'interval') {
      await deleteSchedule(deps.temporal, ruleId);
      return;
    }
    await createSchedule(deps.temporal, deps.taskQueue, rule);
    const handle = deps.temporal.schedule.getHandle(topUpRuleScheduleId(rule.id));
    const paused = (await handle.describe()).state.paused;
    const wantPaused = rule.status !== 'active';
    if (wantPaused && !paused) await handle.pause(`rule paused: ${rule.pausedReason ?? 'paused'}`);
    if (!wantPaused && paused) await handle.unpause('rule resumed');
  } catch (error) {
    if (error instanceof BillingError) throw error;
    throw new BillingError('SERVICE_UNAVAILABLE', "The rule is saved but its Schedule could not be written now; retry the same call (the same Idempotency-Key) to finish it.", {
      retryable: true,
      ruleId,
    });
  }
}

/**
 * One Schedule run: claims the month's refill of an active interval rule under its caps (trigger
 * `interval`) and starts its workflow, once per rule and month however many runs the month has. Answers
 * the refill id, or null when the rule is gone, paused or not an interval rule. A capped claim is
 * recorded (the refill shows `capped`) and starts nothing.
 */
export async function startIntervalRefill(deps: RefillStartDeps, ruleId: string, at: Date): Promise<string | null> {
  const refillId = refillWorkflowId(ruleId, monthOf(at));
  const claimed = await deps.db.$transaction(async (tx) => {
    const rule = await tx.topUpRule.findUnique({ where: { id: ruleId } });
    if (!rule || rule.kind !== 'interval' || rule.status !== 'active') return undefined;
    return claimInTx(tx, { refillId, userId: rule.userId, rule, trigger: 'interval', packageCode: rule.packageCode }, at);
  });
  if (!claimed) return null;
  if (claimed.status === 'claimed') await startRefill(deps, { refillId, ruleId, userId: claimed.userId, trigger: 'interval' });
  return refillId;
}
