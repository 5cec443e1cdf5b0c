/**
 * What metrics and tracing cost (target 12): deducts through the API (32 clients) on three API processes
 * that differ in one thing each, started one after the other beside the main one on the same database:
 * - metrics off: the API without its metrics middleware (scripts/bench/programs/api-without-metrics.ts);
 * - metrics on: the API as shipped, with /metrics scraped every second (Prometheus scrapes every 15-60 s:
 *   this is a pessimistic rate);
 * - tracing on: the same, with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local sink answering 200 (so
 *   spans are made, batched and exported over HTTP).
 * Targets: metrics on / metrics off >= 0.95; tracing on / tracing off (metrics on, scraped, both) >= 0.9.
 * The "metrics off" program needs the compiled programs (the default; not BENCH_RUNTIME=tsx).
 */
import { performance } from 'node:perf_hooks';
import { findFreePort } from '../../services';
import { cpuLine, type Bench, type PhaseResult } from '../context';
import { ApiClient, httpGetStatus } from '../http';
import type { LoadOp } from '../load';
import { startReceiver } from '../receiver';
import { fmt, loadRow, log, printTable, reportErrors, round, write } from '../report';
import type { Scenario } from '../scenario';
import { ACTION_KEY, API_WITHOUT_METRICS_ENTRY } from '../stack';

const DEDUCT_CLIENTS = 32;
const SCRAPE_EVERY_MS = 1000;
/** Target 12's two lines. */
const METRICS_RATIO_GOAL = 0.95;
const TRACING_RATIO_GOAL = 0.9;
/** The deduct route's request histogram, as /metrics shows it. */
const DEDUCT_SERIES = /^http_request_duration_seconds_count\{[^}]*route="\/v1\/internal\/credits\/deduct"[^}]*\} (\d+)/m;

interface VariantResult {
  result: PhaseResult;
  scrapes: number;
  /** Deducts the variant's own /metrics counted (none when the middleware is off). */
  deductsCounted: number;
}

async function runVariant(bench: Bench, name: string, entry: string, env: NodeJS.ProcessEnv, scrape: boolean): Promise<VariantResult> {
  const { stack, settings } = bench;
  const port = await findFreePort();
  // No gRPC listener: the main API holds the stack's GRPC_PORT, and this side is about the HTTP path.
  const program = await stack.startProgram(name, entry, stack.appEnv(name, { PORT: String(port), GRPC_PORT: undefined, ...env }), async () => {
    const status = await httpGetStatus(port, '/readyz');
    if (status !== 200) throw new Error(`/readyz answered ${status}`);
  });
  const client = new ApiClient(port, stack.serviceKey);
  bench.meter.track('apiVariant', program.pid);
  let scrapes = 0;
  let scraper: NodeJS.Timeout | undefined;
  try {
    const deduct: LoadOp = async () => {
      const answer = await client.post('/v1/internal/credits/deduct', { userId: stack.randomUser(), actionKey: ACTION_KEY, quantity: 1 });
      if (answer.status !== 201) throw new Error(`deduct: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
    };
    await deduct(0);
    if (scrape) {
      scraper = setInterval(() => {
        void client.getAs('/metrics', stack.metricsToken).then((answer) => {
          if (answer.status === 200) scrapes++;
        }, () => undefined);
      }, SCRAPE_EVERY_MS);
    }
    log(`edge ${name}: POST /v1/internal/credits/deduct from ${DEDUCT_CLIENTS} clients${scrape ? `, /metrics scraped every ${SCRAPE_EVERY_MS} ms` : ''}`);
    const started = performance.now();
    const result = await bench.measure(`edge ${name}`, DEDUCT_CLIENTS, settings.measureSeconds, deduct);
    if (scraper) clearInterval(scraper);
    scraper = undefined;
    const metrics = await client.getAs('/metrics', stack.metricsToken);
    const deductsCounted = Number(DEDUCT_SERIES.exec(metrics.text)?.[1] ?? 0);
    log(`  ${name}: ${round((performance.now() - started) / 1000)} s, its /metrics counted ${deductsCounted} deducts`);
    return { result, scrapes, deductsCounted };
  } finally {
    if (scraper) clearInterval(scraper);
    bench.meter.untrack('apiVariant');
    client.close();
    await program.stop();
  }
}

/** `NAME=value,NAME=value` from a bench variable, for the tracing side only. */
function envFromList(variable: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const pair of (process.env[variable] ?? '').split(',').map((part) => part.trim()).filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`${variable}: "${pair}" is not NAME=value`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  if (Object.keys(env).length > 0) log(`${variable}: the tracing side runs with ${Object.entries(env).map(([n, v]) => `${n}=${v}`).join(' ')}`);
  return env;
}

async function run(bench: Bench): Promise<void> {
  const { stack, settings } = bench;
  const sink = await startReceiver();
  try {
    const compiled = settings.runtime === 'compiled';
    if (!compiled) log('edge: the API without metrics needs the compiled programs (BENCH_RUNTIME=tsx): the metrics target is skipped');
    const off = compiled ? await runVariant(bench, 'api-metrics-off', API_WITHOUT_METRICS_ENTRY, {}, false) : undefined;
    if (off && off.deductsCounted > 0) throw new Error(`the API without metrics still counted ${off.deductsCounted} deducts: the switch did not take`);
    await stack.settleDatabase();
    const on = await runVariant(bench, 'api-metrics-on', settings.apiEntry, {}, true);
    if (on.deductsCounted === 0) throw new Error('the API with metrics counted no deducts on /metrics');
    await stack.settleDatabase();
    const traced = await runVariant(
      bench,
      'api-tracing-on',
      settings.apiEntry,
      // The shipped defaults: the sampler (parentbased_traceidratio at DEFAULT_TRACE_SAMPLE_RATIO: no OTEL_TRACES_SAMPLER
      // here) and the batch span processor's (a batch every 5 s, so the 10 s window sees exports).
      // BENCH_EDGE_TRACING_ENV (NAME=value,...) measures others, e.g. OTEL_TRACES_SAMPLER=always_on.
      { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_SERVICE_NAME: 'durable-billing-bench', ...envFromList('BENCH_EDGE_TRACING_ENV') },
      true,
    );
    const metricsRatio = off ? on.result.perSecond / off.result.perSecond : NaN;
    const tracingRatio = traced.result.perSecond / on.result.perSecond;

    write(`\nMetrics and tracing on vs off — deducts through the API, ${settings.measureSeconds} s measured after ${settings.warmupSeconds} s warm-up\n`);
    printTable(
      ['', 'clients', 'deducts/s', 'p50 ms', 'p99 ms', 'ok', 'errors', 'scrapes'],
      [
        ...(off ? [loadRow('metrics off (no metrics middleware)', off.result, ['-'])] : []),
        loadRow('metrics on, /metrics scraped', on.result, [String(on.scrapes)]),
        loadRow('metrics on + tracing (OTLP exporter set)', traced.result, [String(traced.scrapes)]),
      ],
    );
    for (const [label, variant] of [['metrics off', off], ['metrics on', on], ['tracing on', traced]] as const) {
      if (variant) {
        reportErrors(label, variant.result);
        write(`  CPU ms per deduct — ${label.padEnd(11)}: ${cpuLine(variant.result)}\n`);
      }
    }
    write(`  OTLP sink received ${sink.received.requests} export requests (${fmt(sink.received.bytes / 1024, 0)} KiB)\n`);
    if (traced.result.count > 0 && sink.received.requests === 0) write('  ! the tracing side exported nothing: its figure says nothing about export costs\n');
    bench.target({
      number: 12,
      name: 'metrics-overhead',
      value: metricsRatio,
      comparison: '>=',
      goal: METRICS_RATIO_GOAL,
      meaning: `deducts/s with metrics on and scraped ${fmt(on.result.perSecond)} over metrics off ${fmt(off?.result.perSecond)}`,
    });
    bench.target({
      number: 12,
      name: 'tracing-overhead',
      value: tracingRatio,
      comparison: '>=',
      goal: TRACING_RATIO_GOAL,
      meaning: `deducts/s with tracing on (OTLP to a local sink) ${fmt(traced.result.perSecond)} over tracing off ${fmt(on.result.perSecond)}`,
    });
    write('\n');
    bench.summary(
      `metrics/tracing  deducts/s off ${fmt(off?.result.perSecond)}, metrics ${fmt(on.result.perSecond)} (ratio ${fmt(metricsRatio, 3)}), ` +
        `+tracing ${fmt(traced.result.perSecond)} (ratio ${fmt(tracingRatio, 3)})`,
    );
    bench.results.edge = {
      metricsOff: off ?? null,
      metricsOn: on,
      tracingOn: traced,
      metricsRatio: round(metricsRatio, 4),
      tracingRatio: round(tracingRatio, 4),
      otlpExports: sink.received,
    };
  } finally {
    await sink.close();
  }
}

export const scenario: Scenario = {
  name: 'edge',
  order: 60,
  description: 'deducts through the API with metrics (scraped) and tracing (OTLP exporter set) on vs off (target 12)',
  run,
};
