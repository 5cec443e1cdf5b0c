/**
 * The hot paths on a year of data (target 25): the deduct, lifecycle and orders scenarios on the empty
 * database, then the database grown by scripts/bench/grow.ts (BENCH_GROW_SCALE, default a tenth of a
 * year), then the same scenarios again, in one run on the same stack, so each grown/empty ratio compares
 * like with like. On the grown database it also runs the daily inspection on demand (POST
 * /v1/admin/inspections) and reports its wall time, pages and the worker's peak RSS. Run on its own:
 * `npm run bench -- grown` (it is not part of the default set: growing takes minutes).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Bench, PhaseResult } from '../context';
import { describeGrowth, growDatabase, growScale, growSizes, type GrowReport } from '../grow';
import { fmt, log, mib, round, write } from '../report';
import type { Scenario } from '../scenario';
import { scenario as deduct } from './deduct';
import { scenario as lifecycle } from './lifecycle';
import { scenario as orders } from './orders';

/** Target 25: each scenario's throughput on the grown database over the empty one, and its p99 over the empty p99. */
const THROUGHPUT_RATIO_GOAL = 0.9;
const P99_RATIO_GOAL = 1.5;

interface PassFigures {
  deduct: { perSecond: number; p99: number; sqlPerSecond: number; sqlP99: number; baselinePerSecond: number };
  lifecycle: { perSecond: number; p99: number; reserveP99: number; baselinePerSecond: number };
  orders: { perSecond: number; p99: number; baselinePerSecond: number };
}

/** Runs the three scenarios; their own target lines are renamed `<pass>-<name>` (they run twice). */
async function runPass(bench: Bench, pass: 'empty' | 'grown'): Promise<PassFigures> {
  for (const inner of [deduct, lifecycle, orders]) {
    log(`— ${pass} database: scenario ${inner.name}`);
    bench.phase(`${inner.name} (${pass})`);
    const before = bench.targets.length;
    await inner.run(bench);
    for (const target of bench.targets.slice(before)) target.name = `${pass}-${target.name}`;
  }
  const results = bench.results as {
    deduct: { api: PhaseResult; sqlViaPg: PhaseResult; baseline: PhaseResult };
    lifecycle: { api: PhaseResult; reserveP99Ms: number; baseline: PhaseResult };
    orders: { api: PhaseResult; baseline: PhaseResult };
  };
  return {
    deduct: {
      perSecond: results.deduct.api.perSecond,
      p99: results.deduct.api.p99,
      sqlPerSecond: results.deduct.sqlViaPg.perSecond,
      sqlP99: results.deduct.sqlViaPg.p99,
      baselinePerSecond: results.deduct.baseline.perSecond,
    },
    lifecycle: { perSecond: results.lifecycle.api.perSecond, p99: results.lifecycle.api.p99, reserveP99: results.lifecycle.reserveP99Ms, baselinePerSecond: results.lifecycle.baseline.perSecond },
    orders: { perSecond: results.orders.api.perSecond, p99: results.orders.api.p99, baselinePerSecond: results.orders.baseline.perSecond },
  };
}

export interface InspectionFigures {
  wallSeconds: number;
  reportSeconds: number;
  pages: number;
  msPerPage: number;
  findings: number;
  byKind: Record<string, number>;
  workerPeakMiB: number;
}

/** The daily inspection on demand, through the admin API as an operator runs it; the worker runs it. */
async function measureInspection(bench: Bench): Promise<InspectionFigures> {
  const { stack } = bench;
  bench.phase('inspection (grown)');
  const started = performance.now();
  const answer = await fetch(`http://127.0.0.1:${stack.apiPort}/v1/admin/inspections`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.adminKey}`, 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
    body: '{}',
    signal: AbortSignal.timeout(15 * 60_000),
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const text = await answer.text();
  if (answer.status !== 201 && answer.status !== 200) throw new Error(`inspection: HTTP ${answer.status} ${text.slice(0, 300)}`);
  const report = JSON.parse(text) as { startedAt: string; finishedAt: string; summary: { findings: number; byKind: Record<string, number>; userPages: number } };
  const reportSeconds = (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000;
  const pages = report.summary.userPages;
  return {
    wallSeconds: round(wallSeconds, 2),
    reportSeconds: round(reportSeconds, 2),
    pages,
    msPerPage: round((reportSeconds * 1000) / Math.max(1, pages), 1),
    findings: report.summary.findings,
    byKind: report.summary.byKind,
    workerPeakMiB: round(mib(bench.memory.report('worker').peakByPhaseKiB['inspection (grown)'] ?? 0), 1),
  };
}

async function run(bench: Bench): Promise<void> {
  const { stack } = bench;
  const empty = await runPass(bench, 'empty');

  const scale = growScale();
  const sizes = growSizes(scale);
  log(`growing the database (BENCH_GROW_SCALE=${scale}): ${Object.entries(sizes).map(([name, n]) => `${name} ${n.toLocaleString('en')}`).join(', ')}`);
  bench.phase('grow');
  const growth: GrowReport = await growDatabase(stack.postgres.url, sizes, log);
  for (const line of describeGrowth(growth)) log(line);
  const settleStarted = performance.now();
  await stack.settleDatabase();
  log(`  vacuumed and analysed the grown database in ${((performance.now() - settleStarted) / 1000).toFixed(1)} s`);

  // A failed inspection (e.g. past its workflow's 10-minute timeout) is a finding: the grown pass still runs.
  const inspection = await measureInspection(bench).catch((error: unknown) => {
    log(`  ! the daily inspection failed on the grown database: ${error instanceof Error ? error.message : String(error)}`);
    return { wallSeconds: NaN, reportSeconds: NaN, pages: 0, msPerPage: NaN, findings: NaN, byKind: {}, workerPeakMiB: NaN } satisfies InspectionFigures;
  });
  log(
    `daily inspection on the grown database: ${inspection.wallSeconds} s through the API (${inspection.reportSeconds} s in the report), ` +
      `${inspection.pages} pages of users, ${inspection.msPerPage} ms per page, ${inspection.findings} findings ` +
      `(${Object.entries(inspection.byKind).filter(([, n]) => n > 0).map(([kind, n]) => `${kind} ${n}`).join(', ') || 'none'}), worker peak RSS ${inspection.workerPeakMiB} MiB`,
  );

  const grown = await runPass(bench, 'grown');

  write(`\nThe hot paths on a year of data — BENCH_GROW_SCALE=${scale}, grown/empty in one run\n`);
  for (const line of describeGrowth(growth)) write(`  ${line}\n`);
  const pair = (name: string, meaning: string, grownValue: number, emptyValue: number, comparison: '>=' | '<=', goal: number) =>
    bench.target({ number: 25, name, value: grownValue / emptyValue, comparison, goal, digits: comparison === '<=' ? 2 : 3, meaning: `${meaning}: grown ${fmt(grownValue, 2)} over empty ${fmt(emptyValue, 2)}` });
  pair('grown-deduct', 'API deducts/s', grown.deduct.perSecond, empty.deduct.perSecond, '>=', THROUGHPUT_RATIO_GOAL);
  pair('grown-deduct-p99', 'API deduct p99 ms', grown.deduct.p99, empty.deduct.p99, '<=', P99_RATIO_GOAL);
  pair('grown-deduct-sql', "the deduct's SQL via pg /s", grown.deduct.sqlPerSecond, empty.deduct.sqlPerSecond, '>=', THROUGHPUT_RATIO_GOAL);
  pair('grown-deduct-sql-p99', "the deduct's SQL p99 ms", grown.deduct.sqlP99, empty.deduct.sqlP99, '<=', P99_RATIO_GOAL);
  pair('grown-lifecycle', 'reserve -> commit lifecycles/s', grown.lifecycle.perSecond, empty.lifecycle.perSecond, '>=', THROUGHPUT_RATIO_GOAL);
  pair('grown-lifecycle-p99', 'lifecycle p99 ms', grown.lifecycle.p99, empty.lifecycle.p99, '<=', P99_RATIO_GOAL);
  pair('grown-orders', 'paid orders provisioned/s', grown.orders.perSecond, empty.orders.perSecond, '>=', THROUGHPUT_RATIO_GOAL);
  pair('grown-orders-p99', 'paid order p99 ms', grown.orders.p99, empty.orders.p99, '<=', P99_RATIO_GOAL);
  // The scenarios' own baselines touch none of the grown tables: a machine that got busier or quieter between
  // the passes moves them too. Each figure over its own pass's baseline, grown over empty, cancels that.
  const normalised = (grownValue: number, grownBase: number, emptyValue: number, emptyBase: number) => fmt(grownValue / grownBase / (emptyValue / emptyBase), 3);
  write(
    `  over each pass's own baseline (a machine whose load changed between the passes moves these less): ` +
      `deduct ${normalised(grown.deduct.perSecond, grown.deduct.baselinePerSecond, empty.deduct.perSecond, empty.deduct.baselinePerSecond)}, ` +
      `deduct SQL ${normalised(grown.deduct.sqlPerSecond, grown.deduct.baselinePerSecond, empty.deduct.sqlPerSecond, empty.deduct.baselinePerSecond)}, ` +
      `lifecycle ${normalised(grown.lifecycle.perSecond, grown.lifecycle.baselinePerSecond, empty.lifecycle.perSecond, empty.lifecycle.baselinePerSecond)}, ` +
      `orders ${normalised(grown.orders.perSecond, grown.orders.baselinePerSecond, empty.orders.perSecond, empty.orders.baselinePerSecond)}\n`,
  );
  write(
    `  daily inspection: ${inspection.reportSeconds} s, ${inspection.pages} pages (${inspection.msPerPage} ms each), ` +
      `worker peak RSS ${inspection.workerPeakMiB} MiB, ${inspection.findings} findings\n\n`,
  );
  bench.summary(
    `grown (x${scale})    deducts/s ${fmt(empty.deduct.perSecond)} -> ${fmt(grown.deduct.perSecond)}, lifecycles/s ${fmt(empty.lifecycle.perSecond)} -> ${fmt(grown.lifecycle.perSecond)}, ` +
      `orders/s ${fmt(empty.orders.perSecond)} -> ${fmt(grown.orders.perSecond)}; grew in ${growth.seconds} s to ${(growth.databaseBytes / 2 ** 30).toFixed(2)} GiB; inspection ${inspection.reportSeconds} s`,
  );
  bench.results.grown = { scale, growth, inspection, empty, grown };
}

export const scenario: Scenario = {
  name: 'grown',
  order: 95,
  description: 'deduct, lifecycle and orders on empty tables, then on a year of data grown in place, and the daily inspection on it (target 25; only when named)',
  onlyWhenNamed: true,
  run,
};
