import type { Router } from 'express';
import { temporal as proto } from '@temporalio/proto';
import type { ApiDeps } from '../deps';
import { pingDatabase } from '../../platform/database-ping';

/**
 * /healthz: the process is alive (no dependencies checked, so a database outage does not get the
 * process restarted). /readyz: each dependency, so traffic can be routed here and operators see why not.
 *
 * Readiness fails (503) only for what this instance cannot work without: PostgreSQL and Temporal.
 * No worker polling the task queue is reported (`status: degraded`, `checks.worker: no_pollers`) but
 * answers 200: every API replica sees the same task queue, so failing readiness would take all of them
 * out of the load balancer at once and turn "reservations wait" into "nothing works" (deducts, balances,
 * history and admin calls do not need a worker; reservation calls answer 503 after their timeout and a
 * retry with the same key succeeds once a worker is back). Alert on it instead (docs/operations.md).
 */
export function mountHealth(router: Router, deps: ApiDeps): void {
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [database, temporal, pollers] = await Promise.all([
      probe(() => pingDatabase(deps.db)),
      probe(() => deps.temporal.workflowService.getSystemInfo({})),
      probe(() => workflowPollers(deps)),
    ]);
    const worker = pollers.result === undefined ? 'unknown' : pollers.result.length > 0 ? 'ok' : 'no_pollers';
    const ready = database.status === 'ok' && temporal.status === 'ok';
    res.status(ready ? 200 : 503).json({
      status: !ready ? 'not_ready' : worker === 'ok' ? 'ready' : 'degraded',
      checks: { database: database.status, temporal: temporal.status, worker },
      worker: { taskQueue: deps.config.TEMPORAL_TASK_QUEUE, pollers: pollers.result ?? [] },
    });
  });
}

/**
 * Workers polling the task queue for workflow tasks (DescribeTaskQueue). Temporal lists a poller for a
 * while after its last poll, so a poller counts only if it polled within the last POLLER_FRESH_MS: a live
 * worker long-polls continuously (each poll lasts up to a minute), a stopped one stops polling.
 */
const POLLER_FRESH_MS = 75_000;

async function workflowPollers(deps: ApiDeps): Promise<Array<{ identity: string; lastPollAt: string }>> {
  const response = await deps.temporal.workflowService.describeTaskQueue({
    namespace: deps.temporal.options.namespace,
    taskQueue: { name: deps.config.TEMPORAL_TASK_QUEUE, kind: proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  const now = Date.now();
  return (response.pollers ?? []).flatMap((poller) => {
    const seconds = Number(poller.lastAccessTime?.seconds ?? 0);
    const lastPoll = seconds * 1000 + Math.floor((poller.lastAccessTime?.nanos ?? 0) / 1e6);
    return now - lastPoll <= POLLER_FRESH_MS ? [{ identity: poller.identity ?? '', lastPollAt: new Date(lastPoll).toISOString() }] : [];
  });
}

async function probe<T>(check: () => Promise<T>, timeoutMs = 2000): Promise<{ status: 'ok' | 'unavailable'; result?: T }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return { status: 'ok', result };
  } catch {
    return { status: 'unavailable' };
  } finally {
    clearTimeout(timer);
  }
}
