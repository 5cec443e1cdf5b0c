/**
 * `npm run dashboard:snapshot`: a picture of deploy/grafana/durable-billing.json fed by the bench, without
 * Grafana (not installable on the project's machines). Starts the bench's stack (PostgreSQL, Temporal dev
 * server, stripe-mock, the API and the worker as production runs them, the worker with its metrics
 * endpoint), a real Prometheus (Debian's) scraping both every second with deploy/prometheus's rules
 * loaded, runs a paced load of the bench's operations (scripts/dashboard/load.ts), evaluates every
 * panel's queries over the load's window with Prometheus' query_range, lays the panels out by their gridPos
 * on a static page drawn with Chart.js, and screenshots it with Debian's Chromium (playwright-core).
 *
 * Writes docs/images/dashboard.png (DASHBOARD_SNAPSHOT_OUT to change it), and the page and the answers it
 * was drawn from beside the bench's files (.data/dashboard-snapshot.html, .json). Prints every panel whose
 * queries answered nothing: the snapshot is also a check that every panel is fed. DASHBOARD_PHASE_SECONDS
 * (default 25) sets each of the load's three phases; BENCH_RUNTIME=tsx runs the programs from source
 * instead of compiling them first. `-- --render-only` draws the page again from the saved answers (after a
 * change to the page or the dashboard's layout) without starting anything.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_PATH } from '../chromium';
import { Cleanup } from '../bench/cleanup';
import { Bench } from '../bench/context';
import { ApiClient } from '../bench/http';
import { abortLoad } from '../bench/load';
import { CpuMeter, MemorySampler } from '../bench/proc';
import { log } from '../bench/report';
import { ROOT, readSettings } from '../bench/settings';
import { BenchStack } from '../bench/stack';
import { findFreePort } from '../services';
import { run } from '../services/commands';
import { findDebianTool } from '../services/debian-tools';
import { queryRange, scrapeTargets, startPrometheus, type LocalPrometheus } from '../services/prometheus';
import { runDashboardLoad } from './load';
import { GRAFANA_GRID, hasData, pageModel, queryIntervals, toChartSeries, withIntervals, type PageModel, type QueryIntervals } from './model';
import { BANNER_HEIGHT, pageHtml, type PageContext, type PanelData } from './page';

const DASHBOARD_FILE = path.join(ROOT, 'deploy', 'grafana', 'durable-billing.json');
const RULE_FILES = ['recording-rules.yml', 'alert-rules.yml'].map((name) => path.join(ROOT, 'deploy', 'prometheus', name));
const OUT_FILE = path.resolve(ROOT, process.env.DASHBOARD_SNAPSHOT_OUT ?? path.join('docs', 'images', 'dashboard.png'));
const PAGE_FILE = path.join(ROOT, '.data', 'dashboard-snapshot.html');
const ANSWERS_FILE = path.join(ROOT, '.data', 'dashboard-snapshot.json');
const COMMAND = 'npm run dashboard:snapshot';
const SCRAPE_INTERVAL_SECONDS = 1;
const SETTLE_SECONDS = 10;
/** Width of the grid on the page, px (a laptop-sized Grafana). */
const PAGE_WIDTH = 1600;
/** Above this the committed image is too heavy for the docs. */
const PNG_WARN_BYTES = 300 * 1024;

const cleanup = new Cleanup();

function phaseSeconds(): number {
  const raw = process.env.DASHBOARD_PHASE_SECONDS ?? '25';
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 5) throw new Error(`DASHBOARD_PHASE_SECONDS=${raw}: expected a number >= 5`);
  return value;
}

/** Until Prometheus has scraped both targets successfully. */
async function waitForTargets(prometheus: LocalPrometheus, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const targets = await scrapeTargets(prometheus.url);
    if (targets.length === 2 && targets.every((target) => target.health === 'up')) return;
    if (Date.now() > deadline) throw new Error(`Prometheus cannot scrape every target: ${JSON.stringify(targets)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Every graph panel's queries over [from, to]: its series, the queries that answered nothing, refusals. */
async function panelData(prometheus: LocalPrometheus, model: PageModel, intervals: QueryIntervals, from: Date, to: Date): Promise<PanelData[]> {
  const data: PanelData[] = [];
  for (const panel of model.panels.filter((p) => p.kind === 'graph')) {
    const entry: PanelData = { panelId: panel.id, series: [], emptyQueries: [], errors: [] };
    for (const query of panel.queries) {
      try {
        const result = await queryRange(prometheus.url, { query: withIntervals(query.expr, intervals), start: from, end: to, stepSeconds: intervals.stepSeconds });
        const series = toChartSeries(query, result, panel.legendCalcs);
        if (!series.some(hasData)) entry.emptyQueries.push(query.refId);
        entry.series.push(...series);
      } catch (error) {
        entry.emptyQueries.push(query.refId);
        entry.errors.push(`${query.refId}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    data.push(entry);
  }
  return data;
}

function reportPanels(model: PageModel, data: PanelData[]): string[] {
  const empty: string[] = [];
  for (const panel of model.panels.filter((p) => p.kind === 'graph')) {
    const entry = data.find((d) => d.panelId === panel.id)!;
    const drawn = entry.series.filter(hasData).length;
    const missing = entry.emptyQueries.map((refId) => {
      const query = panel.queries.find((q) => q.refId === refId)!;
      return `${refId} (${query.legendFormat ?? ''}): ${query.expr}`;
    });
    if (drawn === 0) empty.push(panel.title);
    const status = drawn === 0 ? 'NO DATA' : missing.length > 0 ? `${drawn} series; some queries empty` : `${drawn} series`;
    log(`  panel ${String(panel.id).padStart(2)} ${panel.title}: ${status}`);
    for (const line of [...missing, ...entry.errors]) log(`      no data from ${line}`);
  }
  return empty;
}

async function screenshot(html: string, model: PageModel): Promise<void> {
  fs.mkdirSync(path.dirname(PAGE_FILE), { recursive: true });
  fs.writeFileSync(PAGE_FILE, html);
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH });
  try {
    const page = await browser.newPage({ viewport: { width: model.width + 16, height: model.height + BANNER_HEIGHT + 16 }, deviceScaleFactor: 1 });
    await page.goto(`file://${PAGE_FILE}`);
    await page.waitForSelector('body[data-drawn]', { timeout: 60_000 });
    fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true });
    await page.screenshot({ path: OUT_FILE, fullPage: true });
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  const seconds = phaseSeconds();
  const settings = { ...readSettings([]), users: 200, ephemeral: true, serialSeconds: 0 };
  const memory = new MemorySampler();
  const workerMetricsPort = await findFreePort();
  const stack = await BenchStack.start(settings, cleanup, memory, { worker: { WORKER_METRICS_PORT: String(workerMetricsPort) } });

  const prometheus = await startPrometheus({
    jobs: [
      { name: 'durable-billing-api', target: `127.0.0.1:${stack.apiPort}`, bearerToken: stack.metricsToken },
      { name: 'durable-billing-worker', target: `127.0.0.1:${workerMetricsPort}` },
    ],
    ruleFiles: RULE_FILES,
    scrapeIntervalSeconds: SCRAPE_INTERVAL_SECONDS,
  });
  cleanup.add('prometheus', () => prometheus.stop());
  log(`Prometheus ${prometheus.version} at ${prometheus.url}, scraping the API and the worker every ${SCRAPE_INTERVAL_SECONDS} s`);
  await waitForTargets(prometheus);

  const api = new ApiClient(stack.apiPort, stack.serviceKey);
  cleanup.add('http agent', () => api.close());
  const bench = new Bench(settings, stack, api, new CpuMeter(), memory);
  const from = new Date();
  const load = await runDashboardLoad(bench, seconds, SETTLE_SECONDS);
  const to = new Date();
  log(`load done: ${load.webhooksReceived} webhooks delivered to the receiver`);

  const model = readModel();
  // Grafana's maxDataPoints is the panel's width in px: a half-width panel here.
  const intervals = queryIntervals((to.getTime() - from.getTime()) / 1000, PAGE_WIDTH / 2, SCRAPE_INTERVAL_SECONDS);
  const data = await panelData(prometheus, model, intervals, from, to);
  const context: PageContext = {
    feed: load.description,
    command: COMMAND,
    from,
    to,
    stepSeconds: intervals.stepSeconds,
    rateIntervalSeconds: intervals.rateIntervalSeconds,
    scrapeIntervalSeconds: SCRAPE_INTERVAL_SECONDS,
    prometheusVersion: prometheus.version,
    machine: `${os.cpus().length} CPUs with a load average of ${os.loadavg()[0]!.toFixed(1)} at the end (other processes included)`,
  };
  fs.mkdirSync(path.dirname(ANSWERS_FILE), { recursive: true });
  fs.writeFileSync(ANSWERS_FILE, JSON.stringify({ context, data }));
  log(`panels (queries over ${from.toISOString()} .. ${to.toISOString()}, step ${intervals.stepSeconds} s, $__rate_interval ${intervals.rateIntervalSeconds} s):`);
  await render(model, data, context);
}

function readModel(): PageModel {
  return pageModel(JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')), { ...GRAFANA_GRID, width: PAGE_WIDTH });
}

/** The page and its screenshot; prints the panels without data. */
async function render(model: PageModel, data: PanelData[], context: PageContext): Promise<void> {
  const empty = reportPanels(model, data);
  const chartJs = fs.readFileSync(path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
  await screenshot(pageHtml(model, data, context, chartJs), model);
  await shrink(OUT_FILE);
  const bytes = fs.statSync(OUT_FILE).size;
  log(`wrote ${path.relative(ROOT, OUT_FILE)} (${Math.round(bytes / 1024)} KiB) from ${path.relative(ROOT, PAGE_FILE)}`);
  if (bytes > PNG_WARN_BYTES) log(`  ! the image is over ${PNG_WARN_BYTES / 1024} KiB`);
  log(empty.length === 0 ? 'every panel has data' : `${empty.length} panel(s) without data: ${empty.join('; ')}`);
}

/**
 * Chromium's PNG of line charts is about 600 KiB; pngquant (Debian package `pngquant`) reduces it to a
 * palette with no visible difference, to about a third. Without it the full PNG stays.
 */
async function shrink(file: string): Promise<void> {
  const pngquant = findDebianTool('pngquant');
  if (!pngquant) {
    log('  (pngquant not installed: the PNG is not reduced; apt-get install pngquant)');
    return;
  }
  const reduced = `${file}.reduced`;
  const result = await run(pngquant, ['--quality=70-95', '--speed', '1', '--force', '--output', reduced, '--', file], { timeoutMs: 120_000 });
  if (result.code !== 0) {
    log(`  (pngquant could not reduce the PNG, kept as it is: ${result.output.trim()})`);
    fs.rmSync(reduced, { force: true });
    return;
  }
  fs.renameSync(reduced, file);
}

/** `--render-only`: the page again from the answers the last full run saved. */
async function renderSaved(): Promise<void> {
  if (!fs.existsSync(ANSWERS_FILE)) throw new Error(`${path.relative(ROOT, ANSWERS_FILE)} not found: run \`${COMMAND}\` once without --render-only`);
  const saved = JSON.parse(fs.readFileSync(ANSWERS_FILE, 'utf8')) as { context: PageContext; data: PanelData[] };
  const context = { ...saved.context, from: new Date(saved.context.from), to: new Date(saved.context.to) };
  await render(readModel(), saved.data, context);
}

function installSignalHandlers(): void {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      if (cleanup.started) process.exit(code);
      process.stderr.write(`\n${signal}: stopping and cleaning up...\n`);
      abortLoad();
      void cleanup.run().finally(() => process.exit(code));
    });
  }
}

const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== '--render-only');
if (unknown.length > 0) {
  process.stderr.write(`dashboard:snapshot: unknown argument ${unknown.join(' ')} (known: --render-only)\n`);
  process.exit(2);
}
installSignalHandlers();
(args.includes('--render-only') ? renderSaved() : main()).then(
  async () => {
    await cleanup.run();
    process.exit(0);
  },
  async (error: unknown) => {
    process.stderr.write(`\ndashboard snapshot failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    await cleanup.run();
    process.exit(1);
  },
);
