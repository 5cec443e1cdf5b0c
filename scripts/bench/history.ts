/**
 * Where a workflow run's time goes, from its history: workflow tasks waiting for a worker and running,
 * activities waiting and running, and the rest (RPCs, the API's own work, starting the run, updates).
 */
import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { fmt, round } from './report';

/** Workflow histories read per measured run. */
const HISTORY_SAMPLES = 40;

export interface WorkflowSample {
  workflowId: string;
  latencyMs: number;
  completedAt: number;
}

export interface LifecycleBreakdown {
  sampled: number;
  /** Medians over the sampled runs, ms (each run's steps summed). */
  clientMs: number;
  workflowTaskWaitMs: number;
  workflowTaskRunMs: number;
  activityWaitMs: number;
  activityRunMs: number;
  /** client − the above: RPCs, the API's own work, starting the run and persisting updates. */
  otherMs: number;
  workflowTasks: number;
  activities: number;
}

function eventMs(time: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  const seconds = time?.seconds;
  const whole = typeof seconds === 'number' ? seconds : Number(String(seconds ?? 0));
  return whole * 1000 + (time?.nanos ?? 0) / 1e6;
}

/**
 * Splits the client-observed time of sampled runs (completed inside the measured window) into: workflow
 * task waiting for a worker (scheduled -> started), the worker running it (started -> completed, as
 * the server saw it), and the same for activities.
 */
export async function lifecycleBreakdown(client: Client, samples: WorkflowSample[], window: { start: number; end: number }): Promise<LifecycleBreakdown> {
  const { EventType } = proto.api.enums.v1;
  const inWindow = samples.filter((sample) => sample.completedAt >= window.start && sample.completedAt <= window.end);
  const every = Math.max(1, Math.floor(inWindow.length / HISTORY_SAMPLES));
  const picked = inWindow.filter((_, index) => index % every === 0).slice(0, HISTORY_SAMPLES);
  const columns = { client: [] as number[], wftWait: [] as number[], wftRun: [] as number[], actWait: [] as number[], actRun: [] as number[], other: [] as number[], wfts: [] as number[], acts: [] as number[] };
  await Promise.all(
    picked.map(async (sample) => {
      const history = await client.workflow.getHandle(sample.workflowId).fetchHistory();
      let wftScheduled = NaN;
      let wftStarted = NaN;
      let actScheduled = NaN;
      let actStarted = NaN;
      const sums = { wftWait: 0, wftRun: 0, actWait: 0, actRun: 0, wfts: 0, acts: 0 };
      for (const event of history.events ?? []) {
        const at = eventMs(event.eventTime as { seconds?: unknown; nanos?: number | null } | null);
        switch (event.eventType) {
          case EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            wftScheduled = at;
            break;
          case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            wftStarted = at;
            if (Number.isFinite(wftScheduled)) sums.wftWait += at - wftScheduled;
            break;
          case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            if (Number.isFinite(wftStarted)) sums.wftRun += at - wftStarted;
            sums.wfts++;
            break;
          case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            actScheduled = at;
            break;
          case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            actStarted = at;
            if (Number.isFinite(actScheduled)) sums.actWait += at - actScheduled;
            break;
          case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
          case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            if (Number.isFinite(actStarted)) sums.actRun += at - actStarted;
            sums.acts++;
            break;
          default:
            break;
        }
      }
      columns.client.push(sample.latencyMs);
      columns.wftWait.push(sums.wftWait);
      columns.wftRun.push(sums.wftRun);
      columns.actWait.push(sums.actWait);
      columns.actRun.push(sums.actRun);
      columns.other.push(sample.latencyMs - sums.wftWait - sums.wftRun - sums.actWait - sums.actRun);
      columns.wfts.push(sums.wfts);
      columns.acts.push(sums.acts);
    }),
  );
  // Plain medians: "other" can be negative (clock skew between client and server), which a histogram cannot hold.
  const median = (values: number[]) => {
    if (values.length === 0) return NaN;
    const sorted = [...values].sort((a, b) => a - b);
    return round(sorted[Math.ceil(sorted.length / 2) - 1]!, 1);
  };
  return {
    sampled: picked.length,
    clientMs: median(columns.client),
    workflowTaskWaitMs: median(columns.wftWait),
    workflowTaskRunMs: median(columns.wftRun),
    activityWaitMs: median(columns.actWait),
    activityRunMs: median(columns.actRun),
    otherMs: median(columns.other),
    workflowTasks: median(columns.wfts),
    activities: median(columns.acts),
  };
}

export function breakdownRow(label: string, b: LifecycleBreakdown): string[] {
  return [
    label,
    String(b.sampled),
    fmt(b.clientMs),
    `${fmt(b.workflowTaskWaitMs)} / ${fmt(b.workflowTaskRunMs)}`,
    `${fmt(b.activityWaitMs)} / ${fmt(b.activityRunMs)}`,
    fmt(b.otherMs),
    `${b.workflowTasks} / ${b.activities}`,
  ];
}
