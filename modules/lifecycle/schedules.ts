/**
 * The scheduled jobs as Temporal Schedules: visible, pausable and triggerable in the Temporal UI.
 * Created idempotently at worker start (worker/main.ts); an existing schedule is left as operators
 * set it (paused stays paused). Overlap and catch-up are chosen per job:
 * - expiry sweep: every EXPIRY_SWEEP_EVERY_MINUTES; overlap SKIP (a sweep still running covers the
 *   next); catch-up window 1 hour (after an outage, one sweep on return is enough, it scans everything).
 * - reconciliation: daily 03:00 UTC; overlap SKIP; catch-up 1 day (a missed night still runs once).
 * - consumption rollup: daily 00:15 UTC; overlap BUFFER_ONE (never drop a day's rebuild); catch-up
 *   3 days (each run rebuilds the last three days, so a longer outage needs only the last run).
 * - daily inspection: daily 04:30 UTC (after the reconciliation); overlap SKIP; catch-up 1 day.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleSpec } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { SCHEDULED_JOBS, type ScheduledJobName } from '../../workflows/package-lifecycle-contract';
import type { ScheduleView } from './views';

const SCHEDULE_ID_PREFIX = 'billing-';

interface ScheduleDefinition {
  id: string;
  job: ScheduledJobName;
  note: string;
  spec: ScheduleSpec;
  overlap: ScheduleOverlapPolicy;
  catchupWindow: Duration;
}

export function scheduleDefinitions(options: { sweepEveryMinutes: number; prefix?: string }): ScheduleDefinition[] {
  const prefix = options.prefix ?? SCHEDULE_ID_PREFIX;
  return [
    {
      id: `${prefix}expiry-sweep`,
      job: 'expirySweep',
      note: 'Expires packages past expires_at that a timer missed; lapses released credits and ended subscriptions.',
      spec: { intervals: [{ every: `${options.sweepEveryMinutes} minutes` as Duration }] },
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: '1 hour',
    },
    {
      id: `${prefix}reconciliation`,
      job: 'reconciliation',
      note: 'Ledger invariant per grant and user; paid-but-unprovisioned and provisioned-without-payment orders. Reports only.',
      spec: { cronExpressions: ['0 3 * * *'] },
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: '1 day',
    },
    {
      id: `${prefix}consumption-rollup`,
      job: 'consumptionRollup',
      note: 'Rebuilds daily_consumption_rollups for the last 3 UTC days.',
      spec: { cronExpressions: ['15 0 * * *'] },
      overlap: ScheduleOverlapPolicy.BUFFER_ONE,
      catchupWindow: '3 days',
    },
    {
      id: `${prefix}daily-inspection`,
      job: 'dailyInspection',
      note: 'Daily inspection: ledger invariant over every user in pages, overdue holds and grants, unprovisioned orders, dead letters. Reports, alerts, changes nothing.',
      spec: { cronExpressions: ['30 4 * * *'] },
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: '1 day',
    },
  ];
}

/** Creates each schedule that does not exist yet. Answers the ids it created. */
export async function ensureSchedules(client: Client, taskQueue: string, options: { sweepEveryMinutes: number; prefix?: string; paused?: boolean }): Promise<string[]> {
  const created: string[] = [];
  for (const definition of scheduleDefinitions(options)) {
    try {
      await client.schedule.create({
        scheduleId: definition.id,
        spec: definition.spec,
        action: {
          type: 'startWorkflow',
          workflowType: SCHEDULED_JOBS[definition.job],
          taskQueue,
          args: [{ trigger: 'schedule' }],
          workflowExecutionTimeout: '1 hour',
        },
        policies: { overlap: definition.overlap, catchupWindow: definition.catchupWindow },
        state: { note: definition.note, paused: options.paused ?? false },
      });
      created.push(definition.id);
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    }
  }
  return created;
}

/** The schedules with their last runs and next times (from Temporal: what the UI shows). */
export async function listSchedules(client: Client, ids: string[]): Promise<ScheduleView[]> {
  const views: ScheduleView[] = [];
  for (const id of ids) {
    try {
      const description = await client.schedule.getHandle(id).describe();
      const action = description.action as { workflowType?: string };
      views.push({
        id,
        workflowType: action.workflowType ?? '',
        paused: description.state.paused,
        note: description.state.note ?? null,
        spec: JSON.stringify(description.spec),
        overlapPolicy: String(description.policies.overlap),
        catchupWindowSeconds: description.policies.catchupWindow === undefined ? null : Math.round(Number(description.policies.catchupWindow) / 1000),
        lastRuns: description.info.recentActions.map((run) => ({
          scheduledAt: run.scheduledAt.toISOString(),
          takenAt: run.takenAt.toISOString(),
          workflowId: run.action.workflow.workflowId,
        })),
        nextRuns: description.info.nextActionTimes.slice(0, 5).map((time) => time.toISOString()),
      });
    } catch (error) {
      if ((error as { name?: string }).name !== 'ScheduleNotFoundError') throw error;
    }
  }
  return views;
}
