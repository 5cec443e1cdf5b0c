/**
 * Reserve -> commit through the API (16 clients) against the least a Temporal lifecycle can do on the
 * same server: an empty workflow running one no-op activity, on a worker process of its own (target 3).
 * Workflow histories of sampled runs split each side's time into steps.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { reservationWorkflowId } from '../../../workflows/reservation-contract';
import type { benchWorkflow } from '../baseline/workflows';
import { cpuLine, type Bench, type PhaseResult } from '../context';
import { breakdownRow, lifecycleBreakdown, type WorkflowSample } from '../history';
import type { LoadOp } from '../load';
import { readStatusKiB } from '../proc';
import { fmt, loadRow, log, mib, printTable, reportErrors, round, write } from '../report';
import type { Scenario } from '../scenario';
import { ACTION_KEY, BASELINE_WORKER_ENTRY } from '../stack';
import { countStatements, describeStatements, subtractCounts } from '../statements';

const LIFECYCLE_CLIENTS = 16;
const BASELINE_TASK_QUEUE = 'bench-baseline';
/** Target 3. */
const LIFECYCLE_RATIO_GOAL = 0.7;
const RESERVE_P99_OVER_BASELINE_P99_GOAL = 0.6;

export interface ReservationCalls {
  reserve(): Promise<string>;
  commit(reservationId: string): Promise<void>;
  /** reserve then commit; returns the parts' durations. */
  lifecycle: LoadOp;
}

/** The API's reservation calls; `samples` collects finished lifecycles for the history breakdown. */
export function reservationCalls(bench: Bench, samples: WorkflowSample[] = []): ReservationCalls {
  const reserve = async (): Promise<string> => {
    const answer = await bench.api.post('/v1/internal/reservations', { userId: bench.stack.randomUser(), actionKey: ACTION_KEY, quantity: 1 });
    if (answer.status !== 201) throw new Error(`reserve: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
    bench.reservationsCreated++;
    return answer.body.id as string;
  };
  const commit = async (reservationId: string): Promise<void> => {
    // No quantity: commit everything held (the documented default).
    const answer = await bench.api.post(`/v1/internal/reservations/${reservationId}/commit`, {});
    if (answer.status !== 200) throw new Error(`commit: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
  };
  const lifecycle: LoadOp = async () => {
    const t0 = performance.now();
    const id = await reserve();
    const t1 = performance.now();
    await commit(id);
    const t2 = performance.now();
    samples.push({ workflowId: reservationWorkflowId(id), latencyMs: t2 - t0, completedAt: t2 });
    return { reserve: t1 - t0, commit: t2 - t1 };
  };
  return { reserve, commit, lifecycle };
}

async function run(bench: Bench): Promise<void> {
  const { stack, settings } = bench;
  const seconds = settings.measureSeconds;
  const apiSamples: WorkflowSample[] = [];
  const calls = reservationCalls(bench, apiSamples);
  await calls.lifecycle(0); // smoke test; warms the API and the worker up
  const reserveStatements = await countStatements(stack.admin, stack.postgresLogFile, () => calls.reserve());
  const commitStatements = subtractCounts(
    await countStatements(stack.admin, stack.postgresLogFile, async () => calls.commit(await calls.reserve())),
    reserveStatements,
  );
  log(`SQL statements per reserve: ${describeStatements(reserveStatements)}; per commit: ${describeStatements(commitStatements)}`);

  log(`lifecycle baseline: empty workflow + one no-op activity, client.workflow.execute from ${LIFECYCLE_CLIENTS} clients`);
  const baselineWorker = await stack.startProgram(
    'baseline-worker',
    BASELINE_WORKER_ENTRY,
    { TEMPORAL_ADDRESS: stack.temporalServer.address, BENCH_TASK_QUEUE: BASELINE_TASK_QUEUE, NODE_ENV: 'production' },
    () => stack.assertPolling(BASELINE_TASK_QUEUE),
  );
  bench.meter.track('baselineWorker', baselineWorker.pid);
  const baselineSamples: WorkflowSample[] = [];
  const emptyWorkflow: LoadOp = async () => {
    const workflowId = `bench-baseline-${randomUUID()}`;
    const started = performance.now();
    await stack.client.workflow.execute<typeof benchWorkflow>('benchWorkflow', { taskQueue: BASELINE_TASK_QUEUE, workflowId });
    const done = performance.now();
    baselineSamples.push({ workflowId, latencyMs: done - started, completedAt: done });
  };
  const baseline = await bench.measure('lifecycle baseline', LIFECYCLE_CLIENTS, seconds, emptyWorkflow);
  const baselineSerial = settings.serialSeconds > 0 ? await bench.measure('lifecycle baseline single client', 1, settings.serialSeconds, emptyWorkflow, 0.5) : undefined;
  bench.meter.untrack('baselineWorker');
  await baselineWorker.stop();

  log(`lifecycle api: POST /v1/internal/reservations then .../commit from ${LIFECYCLE_CLIENTS} HTTP clients`);
  await stack.settleDatabase();
  bench.api.freshConnections();
  // Committed reservations stay open for the refund window: the worker keeps their runs cached.
  const growth = { rssBeforeKiB: readStatusKiB(stack.worker.pid, 'VmRSS') ?? NaN, reservationsBefore: bench.reservationsCreated, rssAfterKiB: NaN, reservationsAfter: 0 };
  const api = await bench.measure('api lifecycle', LIFECYCLE_CLIENTS, seconds, calls.lifecycle);
  const apiSerial = settings.serialSeconds > 0 ? await bench.measure('api lifecycle single client', 1, settings.serialSeconds, calls.lifecycle, 0.5) : undefined;
  growth.rssAfterKiB = readStatusKiB(stack.worker.pid, 'VmRSS') ?? NaN;
  growth.reservationsAfter = bench.reservationsCreated;
  const perOpenReservationKiB = (growth.rssAfterKiB - growth.rssBeforeKiB) / (growth.reservationsAfter - growth.reservationsBefore);
  const breakdown = {
    baseline: await lifecycleBreakdown(stack.client, baselineSamples, baseline.window),
    baselineSingleClient: baselineSerial ? await lifecycleBreakdown(stack.client, baselineSamples, baselineSerial.window) : null,
    api: await lifecycleBreakdown(stack.client, apiSamples, api.window),
    apiSingleClient: apiSerial ? await lifecycleBreakdown(stack.client, apiSamples, apiSerial.window) : null,
  };

  const ratio = api.perSecond / baseline.perSecond;
  const reserveP99 = api.parts.reserve?.p99 ?? NaN;
  write(`\nReserve -> commit lifecycles — ${seconds} s measured after ${settings.warmupSeconds} s warm-up\n`);
  const partCells = (result: PhaseResult | undefined) =>
    result?.parts.reserve
      ? [fmt(result.parts.reserve.p50, 2), fmt(result.parts.reserve.p99, 2), fmt(result.parts.commit?.p50, 2), fmt(result.parts.commit?.p99, 2)]
      : ['-', '-', '-', '-'];
  printTable(
    ['', 'clients', 'lifecycles/s', 'p50 ms', 'p99 ms', 'ok', 'errors', 'reserve p50', 'reserve p99', 'commit p50', 'commit p99'],
    [
      loadRow('baseline: empty workflow + no-op activity', baseline, partCells(undefined)),
      ...(baselineSerial ? [loadRow('baseline, single client', baselineSerial, partCells(undefined))] : []),
      loadRow('api: reserve then commit', api, partCells(api)),
      ...(apiSerial ? [loadRow('api, single client', apiSerial, partCells(apiSerial))] : []),
    ],
  );
  reportErrors('baseline workflows', baseline);
  reportErrors('api lifecycles', api);
  write(
    `  ratio api/baseline: ${ratio.toFixed(3)}   reserve p99 at ${LIFECYCLE_CLIENTS} clients: ${fmt(reserveP99, 1)} ms (baseline p99 ${fmt(baseline.p99, 1)} ms)\n` +
      `  CPU ms per op — baseline: ${cpuLine(baseline)}\n` +
      `  CPU ms per op — api:      ${cpuLine(api)}\n` +
      `  SQL statements — reserve: ${describeStatements(reserveStatements)}; commit: ${describeStatements(commitStatements)}\n`,
  );
  write(`  Where a run's time goes (medians over sampled runs' workflow histories, ms):\n`);
  printTable(
    ['', 'runs', 'client total', 'wf task wait / run', 'activity wait / run', 'other (RPCs, API, start/update)', 'wf tasks / activities'],
    [
      breakdownRow(`baseline, ${LIFECYCLE_CLIENTS} clients`, breakdown.baseline),
      ...(breakdown.baselineSingleClient ? [breakdownRow('baseline, single client', breakdown.baselineSingleClient)] : []),
      breakdownRow(`api reserve+commit, ${LIFECYCLE_CLIENTS} clients`, breakdown.api),
      ...(breakdown.apiSingleClient ? [breakdownRow('api reserve+commit, single client', breakdown.apiSingleClient)] : []),
    ],
  );
  write(
    `  worker RSS ${fmt(mib(growth.rssBeforeKiB))} -> ${fmt(mib(growth.rssAfterKiB))} MiB over the API lifecycle runs, which left ` +
      `${growth.reservationsAfter - growth.reservationsBefore} more reservation workflows open (refund window): ~${fmt(perOpenReservationKiB, 0)} KiB per open reservation\n`,
  );
  bench.target({
    number: 3,
    name: 'reserve-commit',
    value: ratio,
    comparison: '>=',
    goal: LIFECYCLE_RATIO_GOAL,
    meaning: `API lifecycles ${fmt(api.perSecond)}/s over the empty workflow + 1 activity's ${fmt(baseline.perSecond)}/s, ${LIFECYCLE_CLIENTS} clients`,
  });
  bench.target({
    number: 3,
    name: 'reserve-p99',
    value: reserveP99 / baseline.p99,
    comparison: '<=',
    goal: RESERVE_P99_OVER_BASELINE_P99_GOAL,
    digits: 2,
    meaning: `reserve p99 ${fmt(reserveP99, 1)} ms over the baseline's p99 ${fmt(baseline.p99, 1)} ms at ${LIFECYCLE_CLIENTS} clients`,
  });
  write('\n');
  bench.summary(
    `lifecycles/s     api ${fmt(api.perSecond)} (reserve p50 ${fmt(api.parts.reserve?.p50, 2)} / p99 ${fmt(reserveP99, 2)} ms)  ` +
      `baseline ${fmt(baseline.perSecond)} (p99 ${fmt(baseline.p99, 2)} ms)  ratio ${ratio.toFixed(3)}`,
  );
  bench.results.lifecycle = {
    baseline,
    baselineSingleClient: baselineSerial ?? null,
    api,
    apiSingleClient: apiSerial ?? null,
    ratio: round(ratio, 4),
    reserveP99Ms: reserveP99,
    reserveP99OverBaselineP99: round(reserveP99 / baseline.p99, 3),
    breakdown,
    workerGrowth: { ...growth, perOpenReservationKiB: round(perOpenReservationKiB, 0) },
    sqlStatements: { reserve: reserveStatements, commit: commitStatements },
  };
}

export const scenario: Scenario = {
  name: 'lifecycle',
  order: 20,
  description: 'reserve -> commit through the API vs an empty workflow with one no-op activity (target 3)',
  run,
};
