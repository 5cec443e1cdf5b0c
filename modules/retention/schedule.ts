/**
 * The retention job as a Temporal Schedule, created idempotently at worker start (worker/main.ts) like
 * the other scheduled jobs: an existing schedule is left as operators set it (paused stays paused,
 * retimed stays retimed). Overlap SKIP: a run still going covers the next. Catch-up 1 hour: after an
 * outage one run is enough, each run does whatever is due.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { RETENTION_SCHEDULE_SUFFIX, type RetentionWorkflowInput } from '../../workflows/retention-contract';

export function retentionScheduleId(prefix = 'billing-'): string {
  return `${prefix}${RETENTION_SCHEDULE_SUFFIX}`;
}

export async function ensureRetentionSchedule(
  client: Client,
  taskQueue: string,
  options: { everyMinutes: number; prefix?: string; paused?: boolean },
): Promise<'created' | 'exists'> {
  try {
    await client.schedule.create({
      scheduleId: retentionScheduleId(options.prefix),
      spec: { intervals: [{ every: `${options.everyMinutes} minutes` as Duration }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'retentionWorkflow',
        taskQueue,
        args: [{ trigger: 'schedule' } satisfies RetentionWorkflowInput],
        workflowExecutionTimeout: '2 hours',
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      state: {
        note: 'Retention: creates next months\' event partitions, drops expired ones holding nothing still needed, prunes expired idempotency keys.',
        paused: options.paused ?? false,
      },
    });
    return 'created';
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) return 'exists';
    throw error;
  }
}
