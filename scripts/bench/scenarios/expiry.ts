/**
 * N packages expiring in the same second (target 9): N user packages with one expires_at, each with its
 * lifecycle timer (workflows/package-lifecycle.ts, started as modules/lifecycle/timers.ts starts them), measured
 * from that second until every package is expired and its credits voided (status `expired` with an
 * `expire` ledger entry) — against N bare timer workflows (a durable timer to one instant, then one no-op
 * activity) on the same server. Target: bare time / package time >= 0.5 (the packages take at most twice
 * as long). Also the billing worker's peak RSS while it runs the N timers.
 *
 * N is BENCH_EXPIRY_PACKAGES. The goal is set for 10,000; the default is 3,000, which a run finishes in
 * about five minutes on a 2-core machine: the in-memory Temporal dev server spends 17-25 ms of CPU
 * per bare timer workflow and uses about one core (its SQLite store is one connection), so 10,000 bare
 * timers alone take about 3 minutes after their instant, the packages more, and a whole run at 10,000 about
 * 15 minutes (docs/performance.md). The timers are all started before the instant
 * (BENCH_EXPIRY_LEAD_SECONDS, default 20 s + 15 ms per package; the grants are inserted in bulk and the
 * starts run from a bounded pool of clients), so what is measured is the expiry burst itself, not the
 * starts. For each side the bench reports the CPU per expiry of every process from the instant to the
 * last one done, and for the packages the outbox events and notices the expiries had set going by then
 * (the relay hands `package.expired` and `balance.low` to notification workflows on the same worker).
 */
import { performance } from 'node:perf_hooks';
import { LifecycleTimers } from '../../../modules/lifecycle/timers';
import { DEFAULT_REMINDER_LEAD_DAYS } from '../../../modules/lifecycle/rules/lifecycle';
import { startBaselineWorker } from '../baseline/start';
import type { benchTimerWorkflow } from '../baseline/workflows';
import type { Bench } from '../context';
import { CpuMeter, readStatusKiB, type CpuSnapshot } from '../proc';
import { fmt, log, mib, pct, printTable, round, write } from '../report';
import type { Scenario } from '../scenario';
import { UsageError } from '../settings';

const BASELINE_TASK_QUEUE = 'bench-baseline-expiry';
const DEFAULT_PACKAGES = 3000;
const CREDITS_PER_PACKAGE = 10;
/** Clients starting the timers (the starts are not measured). */
const START_CONCURRENCY = 32;
const POLL_MS = 200;
/** Target 9. */
const EXPIRY_RATIO_GOAL = 0.5;

function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): { packages: number; leadSeconds: number | undefined } {
  const number = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new UsageError(`${name}=${raw}: expected a whole number >= 1`);
    return value;
  };
  return { packages: number('BENCH_EXPIRY_PACKAGES') ?? DEFAULT_PACKAGES, leadSeconds: number('BENCH_EXPIRY_LEAD_SECONDS') };
}

/** Runs `work` over `items` from `concurrency` loops. */
async function forEachConcurrently<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** Polls `done` every POLL_MS until it answers true; returns when (performance.now()) it first did. */
async function waitUntil(label: string, timeoutMs: number, done: () => Promise<boolean>): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await done()) return performance.now();
    if (performance.now() > deadline) throw new Error(`${label}: not done after ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** performance.now() at the wall-clock instant `epochMs`. */
const perfAt = (epochMs: number) => performance.now() + (epochMs - Date.now());

interface BurstResult {
  count: number;
  startSeconds: number;
  /** From the expiry instant until all were done. */
  seconds: number;
  perSecond: number;
  /** CPU ms per expiry from the instant until all were done, by process (bench = this load generator). */
  cpuMsPerExpiry: Record<string, number>;
  /** Share of the machine's CPUs used by other work (not the bench's processes) during the burst. */
  foreignCpuShare: number;
}

/** A CPU snapshot taken at the wall-clock instant `epochMs` (at once if it has passed). */
function snapshotAt(bench: Bench, epochMs: number): Promise<CpuSnapshot> {
  return new Promise((resolve) => setTimeout(() => resolve(bench.meter.snapshot()), Math.max(0, epochMs - Date.now())));
}

function cpuPerExpiry(count: number, before: CpuSnapshot, after: CpuSnapshot): { perExpiry: Record<string, number>; foreignShare: number } {
  const delta = CpuMeter.delta(before, after);
  const perExpiry: Record<string, number> = {};
  for (const [name, ms] of Object.entries(delta.components)) perExpiry[name] = round(ms / count, 3);
  return { perExpiry, foreignShare: delta.totalMs > 0 ? round(delta.foreignMs / delta.totalMs, 3) : NaN };
}

const cpuText = (perExpiry: Record<string, number>) =>
  Object.entries(perExpiry)
    .filter(([, ms]) => Number.isFinite(ms) && ms > 0.0005)
    .map(([name, ms]) => `${name} ${ms.toFixed(2)}`)
    .join(', ');

async function run(bench: Bench): Promise<void> {
  const { stack } = bench;
  const { packages: n, leadSeconds } = settingsFromEnv();
  // Long enough for the starts on a loaded machine (3,000 starts took 18 s quiet, 69 s with two test suites running).
  const lead = (leadSeconds ?? 20 + (15 * n) / 1000) * 1000;
  const timeoutMs = Math.max(120_000, n * 100);
  const started = (from: number) => round((performance.now() - from) / 1000, 1);

  // Bare timers first, on the baseline worker.
  log(`expiry baseline: ${n} bare timer workflows (timer to one instant, then a no-op activity), instant in ${round(lead / 1000)} s`);
  const baselineWorker = await startBaselineWorker(bench, BASELINE_TASK_QUEUE);
  const baselineAt = Date.now() + lead;
  const baselineInstant = snapshotAt(bench, baselineAt);
  const runTag = Date.now().toString(36);
  let t0 = performance.now();
  await forEachConcurrently(Array.from({ length: n }, (_, index) => index), START_CONCURRENCY, async (index) => {
    await stack.client.workflow.start<typeof benchTimerWorkflow>('benchTimerWorkflow', {
      taskQueue: BASELINE_TASK_QUEUE,
      workflowId: `bench-timer-${runTag}-${index}`,
      args: [baselineAt],
    });
  });
  const baselineStartSeconds = started(t0);
  const overran: string[] = [];
  if (Date.now() > baselineAt) {
    overran.push('bare timers');
    log(`  ! starting took longer than the lead (${baselineStartSeconds} s): the burst includes starts; raise BENCH_EXPIRY_LEAD_SECONDS`);
  }
  const completedQuery = `WorkflowType = 'benchTimerWorkflow' AND ExecutionStatus = 'Completed' AND WorkflowId STARTS_WITH 'bench-timer-${runTag}-'`;
  const baselineDone = await waitUntil('bare timers', timeoutMs + lead, async () => (await stack.client.workflow.count(completedQuery)).count >= n);
  const baselineCpu = cpuPerExpiry(n, await baselineInstant, bench.meter.snapshot());
  const baselineWorkerPeakKiB = await baselineWorker.stop();
  const baseline = burst(n, baselineStartSeconds, baselineDone - perfAt(baselineAt), baselineCpu);
  log(`  bare timers done ${fmt(baseline.seconds, 2)} s after the instant; CPU ms per timer: ${cpuText(baseline.cpuMsPerExpiry)}`);

  // The packages: one grant each (with its 'grant' ledger entry, as grantCredits makes), one expiry instant.
  log(`expiry packages: ${n} user packages expiring in the same second, their lifecycle timers started on the billing worker`);
  const expiresAt = new Date(Date.now() + lead);
  const packagesInstant = snapshotAt(bench, expiresAt.getTime());
  const userPrefix = `bench-expiry-${runTag}-`;
  await stack.admin.query('BEGIN');
  try {
    await stack.admin.query(
      `INSERT INTO user_packages (id, user_id, source, status, total_credits, priority, starts_at, expires_at, updated_at)
       SELECT gen_random_uuid(), $3 || lpad(i::text, 6, '0'), 'gift', 'active', $2, 100, now() - interval '1 minute', $4, now()
       FROM generate_series(1, $1::int) AS i`,
      [n, CREDITS_PER_PACKAGE, userPrefix, expiresAt],
    );
    await stack.admin.query(
      `INSERT INTO credit_ledger_entries (user_id, user_package_id, entry_type, amount, reference_type, reference_id, actor)
       SELECT user_id, id, 'grant', total_credits, 'grant', id::text, 'bench' FROM user_packages WHERE user_id LIKE $1 || '%'`,
      [userPrefix],
    );
    // The balance-low rule's note of the grant (at the threshold: armed), as an assignment leaves it, so each expiry is a fall.
    await stack.admin.query(
      `INSERT INTO balance_low_states (user_id, below, updated_at)
       SELECT user_id, false, now() FROM user_packages WHERE user_id LIKE $1 || '%'
       ON CONFLICT (user_id) DO NOTHING`,
      [userPrefix],
    );
    await stack.admin.query('COMMIT');
  } catch (error) {
    await stack.admin.query('ROLLBACK');
    throw error;
  }
  const { rows: grants } = await stack.admin.query<{ id: string; user_id: string; starts_at: Date }>(
    `SELECT id, user_id, starts_at FROM user_packages WHERE user_id LIKE $1 || '%'`,
    [userPrefix],
  );
  const rssBeforeKiB = readStatusKiB(stack.worker.pid, 'VmRSS');
  const timers = new LifecycleTimers({ temporal: stack.client, taskQueue: stack.taskQueue, reminderLeadDays: DEFAULT_REMINDER_LEAD_DAYS });
  t0 = performance.now();
  await forEachConcurrently(grants, START_CONCURRENCY, async (grant) => {
    await timers.trackPackage({ id: grant.id, userId: grant.user_id, status: 'active', startsAt: grant.starts_at, expiresAt });
  });
  const packageStartSeconds = started(t0);
  if (Date.now() > expiresAt.getTime()) {
    overran.push('packages');
    log(`  ! starting took longer than the lead (${packageStartSeconds} s): the burst includes starts; raise BENCH_EXPIRY_LEAD_SECONDS`);
  }
  const expiredQuery = `SELECT count(*) FILTER (WHERE p.status = 'expired')::int AS expired,
         (SELECT count(*)::int FROM credit_ledger_entries e WHERE e.user_id LIKE $1 || '%' AND e.entry_type = 'expire') AS voided
       FROM user_packages p WHERE p.user_id LIKE $1 || '%'`;
  let last = { expired: 0, voided: 0 };
  const packagesDone = await waitUntil('package expiry', timeoutMs + lead, async () => {
    last = (await stack.admin.query<{ expired: number; voided: number }>(expiredQuery, [userPrefix])).rows[0]!;
    return last.expired >= n && last.voided >= n;
  });
  const packagesCpu = cpuPerExpiry(n, await packagesInstant, bench.meter.snapshot());
  // What the expiries set going (outbox events, their notices) and how far it got when the last package was voided.
  const { rows: downstream } = await stack.admin.query<{ type: string; events: number; relayed: number; notices: number }>(
    `SELECT e.type, count(*)::int AS events, count(e.relayed_at)::int AS relayed, count(n.event_id)::int AS notices
     FROM events e LEFT JOIN notifications n ON n.event_id = e.id
     WHERE e.user_id LIKE $1 || '%' GROUP BY e.type ORDER BY e.type`,
    [userPrefix],
  );
  log(`  at that moment: ${downstream.map((row) => `${row.type} ${row.events} events, ${row.relayed} relayed, ${row.notices} notices`).join('; ') || 'no events'}`);
  const packagesResult = burst(n, packageStartSeconds, packagesDone - perfAt(expiresAt.getTime()), packagesCpu);
  log(`  packages done ${fmt(packagesResult.seconds, 2)} s after the instant; CPU ms per package: ${cpuText(packagesResult.cpuMsPerExpiry)}`);
  const rssAfterKiB = readStatusKiB(stack.worker.pid, 'VmRSS');
  const workerReport = bench.memory.report('worker');
  const workerPeakKiB = workerReport.peakByPhaseKiB.expiry ?? workerReport.vmHwmKiB ?? workerReport.peakSampledKiB;

  const ratio = baseline.seconds / packagesResult.seconds;
  write(`\n${n} expiring in the same second (timers started ahead: bare ${baseline.startSeconds} s, packages ${packagesResult.startSeconds} s)\n`);
  printTable(
    ['', 'count', 'seconds from the instant to all done', 'done/s', 'CPU ms per expiry by process', 'other load'],
    [
      ['baseline: bare timer + no-op activity', String(n), fmt(baseline.seconds, 2), fmt(baseline.perSecond), cpuText(baseline.cpuMsPerExpiry), pct(baseline.foreignCpuShare)],
      ['packages: expired and voided', String(n), fmt(packagesResult.seconds, 2), fmt(packagesResult.perSecond), cpuText(packagesResult.cpuMsPerExpiry), pct(packagesResult.foreignCpuShare)],
    ],
  );
  if (overran.length > 0) bench.disturbedPhases.push(`expiry ${overran.join(' and ')}: the starts ran past the instant (not comparable)`);
  for (const [label, result] of [['bare timers', baseline], ['packages', packagesResult]] as const) {
    if (result.foreignCpuShare > 0.1) {
      bench.disturbedPhases.push(`expiry ${label} (other processes ${pct(result.foreignCpuShare)} of the CPUs)`);
      log(`  ! expiry ${label}: other processes on this machine used ${pct(result.foreignCpuShare)} of its CPUs during the burst: figures disturbed`);
    }
  }
  write(
    `  ratio bare time / package time: ${ratio.toFixed(3)}; ${last.expired} expired, ${last.voided} expire ledger entries\n` +
      `  billing worker RSS ${fmt(mib(rssBeforeKiB ?? NaN))} -> ${fmt(mib(rssAfterKiB ?? NaN))} MiB, peak ${fmt(mib(workerPeakKiB))} MiB during this scenario; ` +
      `baseline worker peak ${fmt(mib(baselineWorkerPeakKiB ?? NaN))} MiB\n`,
  );
  bench.target({
    number: 9,
    name: 'expiry-burst',
    value: ratio,
    comparison: '>=',
    goal: EXPIRY_RATIO_GOAL,
    meaning: `${n} bare timers done in ${fmt(baseline.seconds, 2)} s after their instant, ${n} packages expired and voided in ${fmt(packagesResult.seconds, 2)} s`,
  });
  write(`  worker peak RSS during the expiry of ${n} packages: ${fmt(mib(workerPeakKiB))} MiB (reported, no target)\n\n`);
  bench.summary(
    `expiry burst     ${n} packages ${fmt(packagesResult.seconds, 2)} s after the instant, bare timers ${fmt(baseline.seconds, 2)} s, ratio ${ratio.toFixed(3)}; worker peak ${fmt(mib(workerPeakKiB))} MiB`,
  );
  bench.results.expiry = {
    packages: n,
    leadSeconds: round(lead / 1000, 1),
    baseline,
    packagesResult,
    ratio: round(ratio, 4),
    startsOverranInstant: overran,
    workerPeakMiB: round(mib(workerPeakKiB)),
    baselineWorkerPeakMiB: baselineWorkerPeakKiB !== undefined ? round(mib(baselineWorkerPeakKiB)) : null,
  };
}

function burst(count: number, startSeconds: number, ms: number, cpu: { perExpiry: Record<string, number>; foreignShare: number }): BurstResult {
  return {
    count,
    startSeconds,
    seconds: round(ms / 1000, 3),
    perSecond: round(count / (ms / 1000), 1),
    cpuMsPerExpiry: cpu.perExpiry,
    foreignCpuShare: cpu.foreignShare,
  };
}

export const scenario: Scenario = {
  name: 'expiry',
  order: 50,
  description: 'N packages (BENCH_EXPIRY_PACKAGES, default 3000; the goal is set for 10000) expiring in the same second vs N bare timer workflows; worker peak RSS (target 9)',
  run,
};
