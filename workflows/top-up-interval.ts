import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { TopUpIntervalActivities, TopUpIntervalInput, TopUpIntervalResult } from './top-up-interval-contract';

const steps = proxyActivities<TopUpIntervalActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** Temporal sets it on every run a Schedule starts: the time the run was due (a catch-up run keeps its own month). */
const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/**
 * Started by a top-up rule's Schedule on the rule's day (and by a manual trigger). A Schedule appends the
 * run's timestamp to the workflow id it starts, so it cannot start the refill itself under one id per
 * month; this launcher does: the refill is `top-up-<ruleId>-<YYYY-MM>` of the month the run was due, and
 * any number of runs in one month (catch-up, a trigger) start that one refill.
 */
export async function topUpIntervalWorkflow(input: TopUpIntervalInput): Promise<TopUpIntervalResult> {
  const info = workflowInfo();
  const scheduledAt = info.typedSearchAttributes.get(SCHEDULED_START_TIME) ?? info.startTime;
  return { refillId: await steps.startIntervalRefill({ ruleId: input.ruleId, at: scheduledAt.toISOString() }) };
}
