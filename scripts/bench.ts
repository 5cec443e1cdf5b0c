/**
 * `npm run bench` (= `tsx scripts/bench.ts`): measures the API against baselines on the same services,
 * in one run, on services it starts itself — a throwaway PostgreSQL cluster (durable settings unless
 * BENCH_EPHEMERAL=1) and an in-memory Temporal dev server — with the API and the worker running as the
 * production entry points (api/main.ts, worker/main.ts) in separate child processes.
 *
 *  (a) direct deducts/s through POST /v1/internal/credits/deduct (32 clients) vs raw conditional UPDATEs/s
 *      from 32 `pg` clients on the same grants;
 *  (b) reserve->commit lifecycles/s through the API (16 clients) vs an empty workflow with one no-op
 *      activity (scripts/bench-workflows.ts) started with client.workflow.execute from 16 clients;
 *  (c) peak RSS of the API and worker processes.
 *
 * Prints a table per section and a summary; writes the raw figures to .data/bench-results.json.
 * Options (env): BENCH_SECONDS (10), BENCH_USERS (1000), BENCH_WARMUP_SECONDS (2),
 * BENCH_SERIAL_SECONDS (2; single-client latency runs, 0 to skip), BENCH_EPHEMERAL (0),
 * BENCH_CPU_PROFILE (0; 1 writes V8 CPU profiles of the API and worker to .data/bench-profiles/{api,worker}/),
 * BENCH_API_ENTRY / BENCH_WORKER_ENTRY (api/main.ts, worker/main.ts; to A/B a candidate change).
 * Targets are reported as PASS/MISS; the exit code is 0 unless the run itself fails.
 *
 * Internal: `scripts/bench.ts --baseline-worker` runs the baseline's Temporal worker in its own process,
 * like the billing worker, so both workers are measured the same way (CPU, memory).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client as PgClient } from 'pg';
import { Client, Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { findFreePort, startPostgres, startTemporalDevServer, type LocalPostgres, type TemporalDevServer } from './services';
import { migrate } from '../prisma/migrate';
import { seedDatabase } from '../prisma/seed';
import { reservationWorkflowId } from '../workflows/reservation-contract';
import type { benchWorkflow } from './bench-workflows';

// ---------------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------------

const ROOT = path.resolve(__dirname, '..');
const RESULTS_FILE = path.join(ROOT, '.data', 'bench-results.json');

function envNumber(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name}=${raw}: expected a number >= ${min}`);
  return value;
}

const MEASURE_SECONDS = envNumber('BENCH_SECONDS', 10, 0.5);
const USERS = Math.floor(envNumber('BENCH_USERS', 1000, 1));
const WARMUP_SECONDS = envNumber('BENCH_WARMUP_SECONDS', 2, 0);
const SERIAL_SECONDS = envNumber('BENCH_SERIAL_SECONDS', 2, 0);
const EPHEMERAL = process.env.BENCH_EPHEMERAL === '1' || process.env.BENCH_EPHEMERAL === 'true';
/** Diagnostics: V8 CPU profiles of the API and worker processes (written when they exit). Slows them down. */
const CPU_PROFILE = process.env.BENCH_CPU_PROFILE === '1' || process.env.BENCH_CPU_PROFILE === 'true';
const PROFILE_DIR = path.join(ROOT, '.data', 'bench-profiles');
/** For A/B runs of a candidate change: other entry points to benchmark (default: the production ones). */
const API_ENTRY = process.env.BENCH_API_ENTRY || 'api/main.ts';
const WORKER_ENTRY = process.env.BENCH_WORKER_ENTRY || 'worker/main.ts';
/** Reference runs that explain the deduct figures (HTTP stack alone; the deduct's SQL without the API). */
const REFERENCE_SECONDS = Math.min(5, MEASURE_SECONDS);
/** Workflow histories read per lifecycle phase to split its latency into steps. */
const HISTORY_SAMPLES = 40;

const DEDUCT_CLIENTS = 32;
const LIFECYCLE_CLIENTS = 16;
const TARGETS = { deductRatio: 0.5, lifecycleRatio: 0.7, reserveP99Ms: 150 } as const;
const ACTION_KEY = 'ai_chat'; // seeded at 1 credit per unit
const CREDITS_PER_USER = 1_000_000;
const BILLING_TASK_QUEUE = 'billing-bench';
const BASELINE_TASK_QUEUE = 'bench-baseline';
const READY_TIMEOUT_MS = 120_000;
const CHILD_STOP_GRACE_MS = 12_000; // the API's own SHUTDOWN_GRACE_MS is 10 s

const BASELINE_UPDATE =
  'UPDATE user_packages SET used_credits = used_credits + 1 WHERE id = $1 AND total_credits - used_credits - reserved_credits >= 1';

// ---------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** Set on Ctrl-C/SIGTERM: load loops stop at once and no new phase starts. */
let aborting = false;

class AbortedError extends Error {
  constructor() {
    super('bench aborted');
  }
}
const benchStarted = performance.now();

function log(line: string): void {
  process.stdout.write(`[${((performance.now() - benchStarted) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const fmt = (value: number | undefined, digits = 1) => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits));
const mib = (kib: number) => kib / 1024;

function printTable(headers: string[], rows: Array<Array<string | number>>): void {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) =>
    row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  process.stdout.write(`  ${line(cells[0]!)}\n  ${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of cells.slice(1)) process.stdout.write(`  ${line(row)}\n`);
}

function verdict(pass: boolean): string {
  return pass ? 'PASS' : 'MISS';
}

// ---------------------------------------------------------------------------------------------------
// Load generator: one loop code for every side (API and baselines)
// ---------------------------------------------------------------------------------------------------

interface LatencyStats {
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

export interface LoadResult {
  concurrency: number;
  /** Operations that completed successfully inside the measured window. */
  count: number;
  errors: number;
  /** Length of the measured window (after warm-up), ms. */
  elapsedMs: number;
  perSecond: number;
  /** Latency of the whole operation, ms. */
  p50: number;
  p99: number;
  mean: number;
  max: number;
  /** Latencies of named parts of an operation (e.g. the reserve call of a lifecycle). */
  parts: Record<string, LatencyStats>;
  firstError?: string;
  /** performance.now() when the measured window opened and closed (for matching samples to it). */
  window: { start: number; end: number };
}

export interface LoadOptions {
  warmupMs?: number;
  /** Called (synchronously) when the measured window opens and closes: CPU snapshots. */
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
}

/** An operation: `loop` is the index of the client loop running it (0..concurrency-1). It may return
 * the durations (ms) of named parts of itself. Throwing counts as an error. */
export type LoadOp = (loop: number) => Promise<Record<string, number> | void>;

function latencyStats(samples: number[]): LatencyStats {
  if (samples.length === 0) return { p50: NaN, p99: NaN, mean: NaN, max: NaN };
  const sorted = Float64Array.from(samples).sort();
  const rank = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  let sum = 0;
  for (const value of sorted) sum += value;
  return { p50: rank(0.5), p99: rank(0.99), mean: sum / sorted.length, max: sorted[sorted.length - 1]! };
}

/**
 * Runs `concurrency` closed loops of `op` for warm-up + `durationMs`. Counts and times only the
 * operations that complete inside the measured window; operations still in flight when it closes are
 * awaited but not counted.
 */
export async function runLoad(concurrency: number, durationMs: number, op: LoadOp, options: LoadOptions = {}): Promise<LoadResult> {
  const latencies: number[] = [];
  const parts = new Map<string, number[]>();
  let errors = 0;
  let firstError: string | undefined;
  let measuring = false;
  let stopping = false;
  let windowStart = 0;
  let windowEnd = 0;

  const startTimer = setTimeout(() => {
    options.onWindowStart?.();
    windowStart = performance.now();
    measuring = true;
  }, options.warmupMs ?? 0);
  const endTimer = setTimeout(() => {
    windowEnd = performance.now();
    measuring = false;
    stopping = true;
    options.onWindowEnd?.();
  }, (options.warmupMs ?? 0) + durationMs);

  const loop = async (index: number) => {
    while (!stopping && !aborting) {
      const started = performance.now();
      try {
        const opParts = await op(index);
        if (!measuring) continue;
        latencies.push(performance.now() - started);
        if (opParts) {
          for (const [name, ms] of Object.entries(opParts)) {
            let list = parts.get(name);
            if (!list) parts.set(name, (list = []));
            list.push(ms);
          }
        }
      } catch (error) {
        if (measuring) errors++;
        firstError ??= `${measuring ? '' : '(during warm-up) '}${errorMessage(error)}`;
        // An operation that fails at once (a closed client) must not spin this loop without ever
        // yielding to timers and I/O.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, (_, index) => loop(index)));
  } finally {
    clearTimeout(startTimer);
    clearTimeout(endTimer);
  }
  if (aborting) throw new AbortedError();
  const elapsedMs = windowEnd - windowStart;
  const stats = latencyStats(latencies);
  return {
    concurrency,
    count: latencies.length,
    errors,
    elapsedMs: round(elapsedMs, 1),
    perSecond: round((latencies.length / elapsedMs) * 1000, 1),
    p50: round(stats.p50, 2),
    p99: round(stats.p99, 2),
    mean: round(stats.mean, 2),
    max: round(stats.max, 2),
    parts: Object.fromEntries(
      [...parts].map(([name, samples]) => {
        const s = latencyStats(samples);
        return [name, { p50: round(s.p50, 2), p99: round(s.p99, 2), mean: round(s.mean, 2), max: round(s.max, 2) }];
      }),
    ),
    ...(firstError !== undefined ? { firstError } : {}),
    window: { start: windowStart, end: windowEnd },
  };
}

// ---------------------------------------------------------------------------------------------------
// HTTP client (keep-alive, so connection setup is not what we measure)
// ---------------------------------------------------------------------------------------------------

interface HttpAnswer {
  status: number;
  body: any;
  text: string;
}

function httpPost(agent: http.Agent, port: number, urlPath: string, body: unknown, headers: Record<string, string>): Promise<HttpAnswer> {
  return httpRequest(agent, port, 'POST', urlPath, body, headers);
}

function httpRequest(
  agent: http.Agent,
  port: number,
  method: 'GET' | 'POST',
  urlPath: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method,
        agent,
        headers:
          payload === undefined
            ? headers
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: response.statusCode ?? 0, body: parsed, text });
        });
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

function httpGetStatus(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 3_000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------------
// /proc: CPU time and memory of process trees
// ---------------------------------------------------------------------------------------------------

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): state is field 3.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const field = (n: number) => Number(rest[n - 3]);
    return { pid, ppid: field(4), ticks: field(14) + field(15) + field(16) + field(17) };
  } catch {
    return undefined;
  }
}

/** Every live process, by parent pid. */
function processTable(): Map<number, ProcStat[]> {
  const byParent = new Map<number, ProcStat[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    let siblings = byParent.get(stat.ppid);
    if (!siblings) byParent.set(stat.ppid, (siblings = []));
    siblings.push(stat);
  }
  return byParent;
}

function descendants(pid: number, table: Map<number, ProcStat[]>): ProcStat[] {
  const found: ProcStat[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of table.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** CPU time (ms) of a process and its live descendants; exited children are in their parent's cutime. */
function treeCpuMs(pid: number, table: Map<number, ProcStat[]>): number {
  const root = readStat(pid);
  if (!root) return NaN;
  const ticks = root.ticks + descendants(pid, table).reduce((sum, child) => sum + child.ticks, 0);
  return (ticks * 1000) / CLK_TCK;
}

function readStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Whole-machine CPU time from /proc/stat, ms summed over all CPUs. */
function machineCpuMs(): { total: number; irq: number; steal: number } {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
    const toMs = (ticks: number) => (ticks * 1000) / CLK_TCK;
    return { total: toMs(user + nice + system + idle + iowait + irq + softirq + steal), irq: toMs(irq + softirq), steal: toMs(steal) };
  } catch {
    return { total: NaN, irq: 0, steal: 0 };
  }
}

/** Other processes using more than this share of the machine during a window make its figures suspect. */
const FOREIGN_LOAD_WARNING = 0.1;
const disturbedPhases: string[] = [];

interface CpuSnapshot {
  /** ms by bench component (bench = this load generator). */
  components: Record<string, number>;
  /** ticks by pid: user-space processes outside this bench (e.g. other people's test runs). */
  foreign: Map<number, number>;
  /** ticks by pid: kernel threads (some of their work — I/O, networking — is the bench's own). */
  kernel: Map<number, number>;
  machine: { total: number; irq: number; steal: number };
}

export interface CpuDelta {
  components: Record<string, number>;
  foreignMs: number;
  kernelMs: number;
  stealMs: number;
  totalMs: number;
}

/** CPU time per component, and of everything else on the machine, for per-window deltas. */
class CpuMeter {
  private readonly components = new Map<string, number>();

  track(name: string, pid: number): void {
    this.components.set(name, pid);
  }

  untrack(name: string): void {
    this.components.delete(name);
  }

  snapshot(): CpuSnapshot {
    const table = processTable();
    const usage = process.cpuUsage();
    const components: Record<string, number> = { bench: (usage.user + usage.system) / 1000 };
    for (const [name, pid] of this.components) components[name] = treeCpuMs(pid, table);
    // Ours: this process, everything it started (services, children, the watchdog) and its ancestors (tsx, npm).
    const ours = new Set<number>([process.pid, ...descendants(process.pid, table).map((child) => child.pid)]);
    const all = new Map<number, ProcStat>();
    for (const siblings of table.values()) for (const stat of siblings) all.set(stat.pid, stat);
    for (let pid = process.ppid; pid > 1 && !ours.has(pid); pid = all.get(pid)?.ppid ?? 0) ours.add(pid);
    const foreign = new Map<number, number>();
    const kernel = new Map<number, number>();
    for (const stat of all.values()) {
      if (ours.has(stat.pid)) continue;
      if (stat.pid === 2 || stat.ppid === 2) kernel.set(stat.pid, stat.ticks);
      else foreign.set(stat.pid, stat.ticks);
    }
    return { components, foreign, kernel, machine: machineCpuMs() };
  }

  static delta(before: CpuSnapshot, after: CpuSnapshot): CpuDelta {
    const components: Record<string, number> = {};
    for (const [name, value] of Object.entries(after.components)) {
      const start = before.components[name];
      if (start !== undefined && Number.isFinite(start) && Number.isFinite(value)) components[name] = value - start;
    }
    // Whole-set sums: a process that exits moves its time (cutime included) into its parent's cutime,
    // so the difference of the sums is the time used in between (new processes count from zero).
    const sum = (map: Map<number, number>) => [...map.values()].reduce((total, value) => total + value, 0);
    const ticks = (a: Map<number, number>, b: Map<number, number>) => Math.max(0, sum(b) - sum(a));
    const toMs = (n: number) => (n * 1000) / CLK_TCK;
    return {
      components,
      foreignMs: toMs(ticks(before.foreign, after.foreign)),
      kernelMs: toMs(ticks(before.kernel, after.kernel)) + (after.machine.irq - before.machine.irq),
      stealMs: after.machine.steal - before.machine.steal,
      totalMs: after.machine.total - before.machine.total,
    };
  }
}

/** Polls VmRSS of process trees every 200 ms; keeps the peak overall and per phase. */
class MemorySampler {
  phase = 'startup';
  private readonly targets = new Map<string, { pid: number; tree: number[]; peakKiB: number; byPhase: Record<string, number> }>();
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;

  track(name: string, pid: number): void {
    this.targets.set(name, { pid, tree: [pid], peakKiB: 0, byPhase: {} });
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), 200);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.sample();
  }

  private sample(): void {
    // Children (should tsx or anything else fork) are looked up once a second; RSS every tick.
    const refreshTree = this.ticks++ % 5 === 0;
    const table = refreshTree ? processTable() : undefined;
    for (const target of this.targets.values()) {
      if (table) target.tree = [target.pid, ...descendants(target.pid, table).map((child) => child.pid)];
      let total = 0;
      for (const pid of target.tree) total += readStatusKiB(pid, 'VmRSS') ?? 0;
      if (total === 0) continue;
      target.peakKiB = Math.max(target.peakKiB, total);
      target.byPhase[this.phase] = Math.max(target.byPhase[this.phase] ?? 0, total);
    }
  }

  report(name: string): { pid: number; processes: number; peakSampledKiB: number; peakByPhaseKiB: Record<string, number>; vmHwmKiB?: number } {
    const target = this.targets.get(name);
    if (!target) throw new Error(`not tracked: ${name}`);
    const hwm = target.tree.map((pid) => readStatusKiB(pid, 'VmHWM') ?? 0).reduce((a, b) => a + b, 0);
    return {
      pid: target.pid,
      processes: target.tree.length,
      peakSampledKiB: target.peakKiB,
      peakByPhaseKiB: target.byPhase,
      ...(hwm > 0 ? { vmHwmKiB: hwm } : {}),
    };
  }
}

// ---------------------------------------------------------------------------------------------------
// Child processes (API, worker, baseline worker) and cleanup
// ---------------------------------------------------------------------------------------------------

const children = new Set<ChildService>();

class ChildService {
  readonly exited: Promise<void>;
  exitReason: string | undefined;
  private readonly child: ChildProcess;

  constructor(
    readonly name: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    readonly logFile: string,
  ) {
    const fd = fs.openSync(logFile, 'a');
    try {
      this.child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', fd, fd] });
    } finally {
      fs.closeSync(fd);
    }
    children.add(this);
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.exitReason ??= `could not start: ${error.message}`;
        children.delete(this);
        resolve();
      });
      this.child.once('exit', (code, signal) => {
        this.exitReason ??= signal ? `killed by ${signal}` : `exited with code ${code}`;
        children.delete(this);
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  assertAlive(): void {
    if (this.exitReason !== undefined) throw new Error(`${this.name} ${this.exitReason}:\n${this.logTail()}`);
  }

  logTail(lines = 30): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  killNow(): void {
    if (this.exitReason === undefined) this.child.kill('SIGKILL');
  }

  /** SIGTERM (graceful: the entry points drain and exit), then SIGKILL after the grace period. */
  async stop(): Promise<void> {
    if (this.exitReason !== undefined) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.killNow(), CHILD_STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Run in reverse order of registration, once. */
const cleanups: Array<{ name: string; run: () => Promise<void> | void }> = [];
let cleaning: Promise<void> | undefined;
let workDir: string | undefined;

function onCleanup(name: string, run: () => Promise<void> | void): void {
  cleanups.push({ name, run });
}

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      try {
        await step.run();
      } catch (error) {
        process.stderr.write(`cleanup (${step.name}) failed: ${errorMessage(error)}\n`);
      }
    }
  })();
  return cleaning;
}

function installExitHandlers(): void {
  // Last resort when we exit without cleanup(): no child outlives us (scripts/services kills its own).
  process.on('exit', () => {
    for (const child of children) child.killNow();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });
  const signals: Array<[NodeJS.Signals, number]> = [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ];
  for (const [signal, code] of signals) {
    process.on(signal, () => {
      if (cleaning) {
        process.stderr.write(`\n${signal} again: exiting now\n`);
        process.exit(code);
      }
      process.stderr.write(`\n${signal}: stopping the bench and cleaning up...\n`);
      aborting = true;
      void cleanup().finally(() => {
        process.stderr.write('cleaned up\n');
        process.exit(code);
      });
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// Readiness
// ---------------------------------------------------------------------------------------------------

async function waitForHttpReady(child: ChildService, port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer yet';
  for (;;) {
    child.assertAlive();
    try {
      const status = await httpGetStatus(port, '/readyz');
      if (status === 200) return;
      last = `HTTP ${status}`;
    } catch (error) {
      last = errorMessage(error);
    }
    if (Date.now() > deadline) throw new Error(`${child.name} not ready after ${READY_TIMEOUT_MS / 1000} s (${last}):\n${child.logTail()}`);
    await sleep(200);
  }
}

/** A worker is ready when it polls its task queue for both workflow and activity tasks. */
async function waitForPollers(connection: Connection, taskQueue: string, child: ChildService): Promise<void> {
  const { TaskQueueType } = proto.api.enums.v1;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    child.assertAlive();
    const counts = await Promise.all(
      [TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY].map(async (taskQueueType) => {
        const answer = await connection.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: taskQueue },
          taskQueueType,
        });
        return answer.pollers?.length ?? 0;
      }),
    );
    if (counts.every((count) => count > 0)) return;
    if (Date.now() > deadline) throw new Error(`${child.name} not polling ${taskQueue} after ${READY_TIMEOUT_MS / 1000} s:\n${child.logTail()}`);
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------------
// Database helpers
// ---------------------------------------------------------------------------------------------------

/** One active grant of CREDITS_PER_USER per user, with its 'grant' ledger entry (as grantCredits makes). */
async function grantBenchCredits(admin: PgClient): Promise<{ userIds: string[]; grantIds: string[] }> {
  await admin.query('BEGIN');
  try {
    await admin.query(
      `INSERT INTO user_packages (id, user_id, source, status, total_credits, priority, starts_at, updated_at)
       SELECT gen_random_uuid(), 'bench-user-' || lpad(i::text, 6, '0'), 'gift', 'active', $2, 100, now() - interval '1 minute', now()
       FROM generate_series(1, $1::int) AS i`,
      [USERS, CREDITS_PER_USER],
    );
    await admin.query(
      `INSERT INTO credit_ledger_entries (user_id, user_package_id, entry_type, amount, reference_type, reference_id, actor)
       SELECT user_id, id, 'grant', total_credits, 'grant', id::text, 'bench'
       FROM user_packages WHERE user_id LIKE 'bench-user-%'`,
    );
    await admin.query('COMMIT');
  } catch (error) {
    await admin.query('ROLLBACK');
    throw error;
  }
  const { rows } = await admin.query<{ id: string; user_id: string }>(
    `SELECT id, user_id FROM user_packages WHERE user_id LIKE 'bench-user-%' ORDER BY user_id`,
  );
  return { userIds: rows.map((row) => row.user_id), grantIds: rows.map((row) => row.id) };
}

/** Same starting conditions for every measured phase: fresh statistics, no checkpoint debt. */
async function settleDatabase(admin: PgClient): Promise<void> {
  await admin.query('VACUUM (ANALYZE) user_packages');
  await admin.query('CHECKPOINT');
}

interface StatementCount {
  total: number;
  byApplication: Record<string, number>;
  byVerb: Record<string, number>;
  statements: string[];
}

/**
 * Counts the SQL statements PostgreSQL executes for `action` (log_statement = all for its duration),
 * split by application_name (the API and the worker connect with their own). One call is enough:
 * the statements per operation are deterministic.
 */
async function countStatements(admin: PgClient, logFile: string, action: () => Promise<void>): Promise<StatementCount> {
  await admin.query(`ALTER SYSTEM SET log_statement = 'all'`);
  await admin.query(`ALTER SYSTEM SET log_line_prefix = '%m [%p] app=%a '`);
  await admin.query('SELECT pg_reload_conf()');
  await sleep(400); // every backend reloads its configuration before its next command
  const offset = fs.statSync(logFile).size;
  try {
    await action();
    await sleep(400);
  } finally {
    await admin.query('ALTER SYSTEM RESET log_statement');
    await admin.query('ALTER SYSTEM RESET log_line_prefix');
    await admin.query('SELECT pg_reload_conf()');
  }
  const fd = fs.openSync(logFile, 'r');
  let text: string;
  try {
    const size = fs.fstatSync(fd).size;
    const buffer = Buffer.alloc(size - offset);
    fs.readSync(fd, buffer, 0, buffer.length, offset);
    text = buffer.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
  const result: StatementCount = { total: 0, byApplication: {}, byVerb: {}, statements: [] };
  const lines = text.split('\n');
  const isPrefixed = (line: string) => /^\d{4}-\d\d-\d\d \S+ \S+ \[\d+\] /.test(line);
  lines.forEach((line, index) => {
    const match = /app=(\S*) LOG:\s+(?:statement|execute [^:]*):\s*(.*)$/.exec(line);
    if (!match) return;
    const [, app = '', first = ''] = match;
    // Only the API's and the worker's connections (not this bench's own ALTER SYSTEM etc.).
    if (!app.startsWith('bench-') || app === 'bench-admin') return;
    const application = app.replace(/^bench-/, '');
    // A statement may continue on the following (unprefixed) lines.
    let sql = first;
    for (let next = index + 1; next < lines.length && !isPrefixed(lines[next]!); next++) sql += ` ${lines[next]}`;
    result.total++;
    result.byApplication[application] = (result.byApplication[application] ?? 0) + 1;
    const verb = /pg_advisory_xact_lock/.test(sql) ? 'LOCK' : (sql.trim().split(/\s+/)[0] || '?').toUpperCase();
    result.byVerb[verb] = (result.byVerb[verb] ?? 0) + 1;
    result.statements.push(`${application}: ${sql.replace(/\s+/g, ' ').trim().slice(0, 110)}`);
  });
  return result;
}

function describeStatements(count: StatementCount): string {
  const apps = Object.entries(count.byApplication).map(([app, n]) => `${app} ${n}`).join(', ');
  const verbs = Object.entries(count.byVerb).map(([verb, n]) => `${verb} ${n}`).join(', ');
  return `${count.total} (${apps}; ${verbs})`;
}

/**
 * Reference for (a): the same 10 statements, in the same transaction, that a deduct through the API
 * makes (see the statement log), sent by `pg` directly — the database's share of a deduct, without
 * HTTP, Express, zod or Prisma.
 */
function sqlDeductOp(clients: PgClient[], userIds: string[], grantIds: string[]): LoadOp {
  return async (loop) => {
    const db = clients[loop]!;
    const index = Math.floor(Math.random() * userIds.length);
    const userId = userIds[index]!;
    const grantId = grantIds[index]!;
    const scope = 'service:bench-sql';
    const key = randomUUID();
    const consumptionId = randomUUID();
    await db.query('BEGIN');
    try {
      await db.query(
        `INSERT INTO idempotency_records (scope, key, request_hash, status_code, response_body)
         VALUES ($1, $2, $3, 0, '{}'::jsonb) ON CONFLICT DO NOTHING`,
        [scope, key, 'bench-request-hash'],
      );
      const price = await db.query<{ credits_per_unit: number }>(
        `SELECT id, action_key, name, credits_per_unit, status::text, created_at, updated_at FROM action_prices WHERE action_key = $1 LIMIT 1`,
        [ACTION_KEY],
      );
      const unitPrice = price.rows[0]!.credits_per_unit;
      await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [userId]);
      const now = new Date();
      await db.query(
        `SELECT id, status::text, priority, starts_at, expires_at, created_at, total_credits, used_credits, reserved_credits
         FROM user_packages WHERE user_id = $1 AND status = 'active' AND starts_at <= $2 AND (expires_at IS NULL OR expires_at > $2)`,
        [userId, now],
      );
      const createdAt = new Date();
      await db.query(
        `INSERT INTO consumption_records (id, user_id, action_key, quantity, unit_price, credits_cost, credits_refunded, metadata, created_at)
         VALUES ($1, $2, $3, 1, $4, $4, 0, NULL, $5)`,
        [consumptionId, userId, ACTION_KEY, unitPrice, createdAt],
      );
      await db.query(
        `INSERT INTO consumption_allocations (consumption_id, user_package_id, credits, credits_refunded) VALUES ($1, $2, $3, 0)`,
        [consumptionId, grantId, unitPrice],
      );
      // credits/ledger.ts applyMovements: the grant UPDATE and its ledger entry in one statement.
      await db.query(
        `WITH updated AS (
           UPDATE user_packages SET
             used_credits = used_credits + $1,
             status = CASE
               WHEN status NOT IN ('active', 'depleted') THEN status
               WHEN total_credits - (used_credits + $1) - reserved_credits = 0 THEN 'depleted'::"GrantStatus"
               ELSE 'active'::"GrantStatus"
             END,
             updated_at = now()
           WHERE id = $2::uuid AND user_id = $3
           RETURNING id)
         INSERT INTO credit_ledger_entries (user_id, user_package_id, entry_type, amount, reserved_delta, used_delta, reference_type, reference_id, idempotency_key, actor)
         SELECT $3, id, 'deduct', -$1::int, 0, $1, 'consumption', $4, $5, $6 FROM updated`,
        [unitPrice, grantId, userId, consumptionId, key, scope],
      );
      const consumption = { id: consumptionId, userId, actionKey: ACTION_KEY, quantity: 1, unitPrice, creditsCost: unitPrice, createdAt };
      await db.query(`UPDATE idempotency_records SET status_code = 200, response_body = $3 WHERE scope = $1 AND key = $2`, [
        scope,
        key,
        JSON.stringify({ ...consumption, allocations: [{ grantId, credits: unitPrice }] }),
      ]);
      await db.query('COMMIT');
    } catch (error) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  };
}

// ---------------------------------------------------------------------------------------------------
// Where a lifecycle's time goes, from workflow histories
// ---------------------------------------------------------------------------------------------------

interface WorkflowSample {
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
async function lifecycleBreakdown(client: Client, samples: WorkflowSample[], window: { start: number; end: number }): Promise<LifecycleBreakdown> {
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
  const median = (values: number[]) => round(latencyStats(values).p50, 1);
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

function breakdownRow(label: string, b: LifecycleBreakdown): string[] {
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

// ---------------------------------------------------------------------------------------------------
// The bench
// ---------------------------------------------------------------------------------------------------

interface PhaseResult extends LoadResult {
  /** CPU time per successful operation, ms, by component (bench = the load generator itself). */
  cpuMsPerOp: Record<string, number>;
  /** CPU use during the window as a share of all cores. */
  cpuUtilisation: number;
  /** Share of all CPUs used by processes that are not part of the bench (other work on the machine). */
  foreignCpuShare: number;
  /** Kernel threads and interrupts (largely the bench's own I/O and loopback traffic), and hypervisor steal. */
  kernelCpuShare: number;
  stealShare: number;
}

function phaseResult(result: LoadResult, cpu: CpuDelta): PhaseResult {
  const perOp: Record<string, number> = {};
  let ours = 0;
  for (const [name, ms] of Object.entries(cpu.components)) {
    perOp[name] = result.count > 0 ? round(ms / result.count, 3) : NaN;
    ours += ms;
  }
  const total = Number.isFinite(cpu.totalMs) && cpu.totalMs > 0 ? cpu.totalMs : result.elapsedMs * os.cpus().length;
  return {
    ...result,
    cpuMsPerOp: perOp,
    cpuUtilisation: round(ours / total, 3),
    foreignCpuShare: round(cpu.foreignMs / total, 3),
    kernelCpuShare: round(cpu.kernelMs / total, 3),
    stealShare: round(cpu.stealMs / total, 3),
  };
}

async function measure(
  meter: CpuMeter,
  label: string,
  concurrency: number,
  seconds: number,
  op: LoadOp,
  warmupSeconds = WARMUP_SECONDS,
): Promise<PhaseResult> {
  let before: CpuSnapshot | undefined;
  let after: CpuSnapshot | undefined;
  const result = await runLoad(concurrency, seconds * 1000, op, {
    warmupMs: warmupSeconds * 1000,
    onWindowStart: () => (before = meter.snapshot()),
    onWindowEnd: () => (after = meter.snapshot()),
  });
  const phase = phaseResult(result, CpuMeter.delta(before!, after!));
  if (phase.foreignCpuShare > FOREIGN_LOAD_WARNING || phase.stealShare > FOREIGN_LOAD_WARNING) {
    disturbedPhases.push(`${label} (other processes ${pct(phase.foreignCpuShare)}, steal ${pct(phase.stealShare)} of the CPUs)`);
    log(`  ! ${label}: other processes on this machine used ${pct(phase.foreignCpuShare)} of its CPUs during the window: figures disturbed`);
  }
  return phase;
}

const pct = (share: number) => `${(share * 100).toFixed(0)}%`;

function loadRow(label: string, result: PhaseResult, extra: string[] = []): string[] {
  return [label, String(result.concurrency), fmt(result.perSecond), fmt(result.p50, 2), fmt(result.p99, 2), String(result.count), String(result.errors), ...extra];
}

function cpuLine(result: PhaseResult): string {
  const parts = Object.entries(result.cpuMsPerOp)
    .filter(([, ms]) => Number.isFinite(ms) && ms > 0.0005)
    .map(([name, ms]) => `${name} ${ms.toFixed(3)}`);
  return `${parts.join(', ')}  (of all CPUs: bench ${pct(result.cpuUtilisation)}, kernel/irq ${pct(result.kernelCpuShare)}, other processes ${pct(result.foreignCpuShare)})`;
}

function reportErrors(label: string, result: LoadResult): void {
  if (result.firstError) process.stdout.write(`  ! ${label}: ${result.errors} errors in the window; first: ${result.firstError.slice(0, 300)}\n`);
}

async function main(): Promise<void> {
  installExitHandlers();
  const startedAt = new Date();
  const cpuModel = os.cpus()[0]?.model ?? 'unknown';
  process.stdout.write(
    `durable-billing bench — ${startedAt.toISOString()}\n` +
      `machine: ${os.cpus().length} × ${cpuModel}, ${round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}\n` +
      `settings: BENCH_SECONDS=${MEASURE_SECONDS} (after ${WARMUP_SECONDS} s warm-up), BENCH_USERS=${USERS}, ` +
      `serial runs ${SERIAL_SECONDS} s, PostgreSQL ${EPHEMERAL ? 'EPHEMERAL (fsync=off, synchronous_commit=off)' : 'durable (fsync=on, synchronous_commit=on)'}\n\n`,
  );

  // --- services -----------------------------------------------------------------------------------
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-billing-bench-'));
  fs.chmodSync(workDir, 0o755); // the `postgres` OS user (when we run as root) must reach its data dir
  const dir = workDir;
  onCleanup('temp dir', () => fs.rmSync(dir, { recursive: true, force: true }));

  log(`starting PostgreSQL (ephemeral: ${EPHEMERAL}) and a Temporal dev server (in memory) in ${workDir}`);
  const [pgStart, temporalStart] = await Promise.allSettled([
    startPostgres({ dataDir: path.join(workDir, 'pg'), ephemeral: EPHEMERAL }),
    startTemporalDevServer({ uiPort: false, log: path.join(workDir, 'temporal.log') }),
  ]);
  if (pgStart.status === 'fulfilled') onCleanup('postgres', () => pgStart.value.stop());
  if (temporalStart.status === 'fulfilled') onCleanup('temporal', () => temporalStart.value.stop());
  if (pgStart.status === 'rejected') throw pgStart.reason;
  if (temporalStart.status === 'rejected') throw temporalStart.reason;
  const postgres: LocalPostgres = pgStart.value;
  const temporalServer: TemporalDevServer = temporalStart.value;

  await migrate(postgres.url);
  await seedDatabase(postgres.url);
  const admin = new PgClient({ connectionString: postgres.url, application_name: 'bench-admin' });
  await admin.connect();
  onCleanup('admin connection', () => admin.end());
  const pgInfo = await admin.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings WHERE name IN
       ('server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'max_connections', 'wal_sync_method')`,
  );
  const pgSettings = Object.fromEntries(pgInfo.rows.map((row) => [row.name, row.setting]));
  const { userIds, grantIds } = await grantBenchCredits(admin);
  log(`PostgreSQL ${pgSettings.server_version} at ${postgres.url}: migrated, seeded, ${userIds.length} users × ${CREDITS_PER_USER} credits`);

  const connection = await Connection.connect({ address: temporalServer.address });
  onCleanup('temporal client', () => connection.close());
  const client = new Client({ connection, namespace: 'default' });
  const temporalVersion = (await connection.workflowService.getSystemInfo({})).serverVersion;
  log(`Temporal server ${temporalVersion} at ${temporalServer.address}`);

  // --- the production entry points, as child processes --------------------------------------------
  const apiPort = await findFreePort();
  const serviceKey = `bench-service-${randomBytes(16).toString('hex')}`;
  const withApp = (name: string) => `${postgres.url}?application_name=bench-${name}`;
  const appEnv = (name: string): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: withApp(name),
    TEMPORAL_ADDRESS: temporalServer.address,
    TEMPORAL_TASK_QUEUE: BILLING_TASK_QUEUE,
    SERVICE_API_KEYS: serviceKey,
    ADMIN_API_KEYS: `bench-admin-${randomBytes(16).toString('hex')}`,
    USER_TOKEN_SECRET: randomBytes(32).toString('hex'),
    PORT: String(apiPort),
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
  });
  // `node --import tsx` runs the entry point in this one process (the tsx CLI would add a parent process).
  const nodeArgs = (name: string) => [
    // One file per thread (tsx's loader hooks run on their own thread), so one directory per process.
    ...(CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.join(PROFILE_DIR, name)}`] : []),
    '--import',
    'tsx',
  ];
  if (CPU_PROFILE) log(`BENCH_CPU_PROFILE: CPU profiles go to ${path.relative(ROOT, PROFILE_DIR)} (profiling slows the processes: figures are not representative)`);
  const childStarted = performance.now();
  if (API_ENTRY !== 'api/main.ts' || WORKER_ENTRY !== 'worker/main.ts') log(`candidate entry points: api ${API_ENTRY}, worker ${WORKER_ENTRY}`);
  const api = new ChildService('api', [...nodeArgs('api'), API_ENTRY], appEnv('api'), path.join(workDir, 'api.log'));
  const worker = new ChildService('worker', [...nodeArgs('worker'), WORKER_ENTRY], appEnv('worker'), path.join(workDir, 'worker.log'));
  onCleanup('api and worker', () => Promise.all([api.stop(), worker.stop()]).then(() => undefined));
  const memory = new MemorySampler();
  memory.track('api', api.pid);
  memory.track('worker', worker.pid);
  memory.start();
  const meter = new CpuMeter();
  meter.track('api', api.pid);
  meter.track('worker', worker.pid);
  meter.track('postgres', postgres.pid);
  meter.track('temporal', temporalServer.pid);

  const readyMs: Record<string, number> = {};
  await Promise.all([
    waitForHttpReady(api, apiPort).then(() => (readyMs.api = round(performance.now() - childStarted, 0))),
    waitForPollers(connection, BILLING_TASK_QUEUE, worker).then(() => (readyMs.worker = round(performance.now() - childStarted, 0))),
  ]);
  log(`api (pid ${api.pid}) ready in ${readyMs.api} ms on port ${apiPort}; worker (pid ${worker.pid}) polling in ${readyMs.worker} ms`);

  const authHeaders = () => ({ authorization: `Bearer ${serviceKey}`, 'idempotency-key': randomUUID() });
  const randomUser = () => userIds[Math.floor(Math.random() * userIds.length)]!;
  const randomGrant = () => grantIds[Math.floor(Math.random() * grantIds.length)]!;
  let agent = new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 });
  const freshAgent = () => {
    agent.destroy();
    agent = new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 });
  };
  onCleanup('http agent', () => agent.destroy());

  const deduct: LoadOp = async () => {
    const answer = await httpPost(agent, apiPort, '/v1/internal/credits/deduct', { userId: randomUser(), actionKey: ACTION_KEY, quantity: 1 }, authHeaders());
    if (answer.status !== 201) throw new Error(`deduct: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
  };
  let reservationsCreated = 0;
  const reserve = async (): Promise<string> => {
    const answer = await httpPost(agent, apiPort, '/v1/internal/reservations', { userId: randomUser(), actionKey: ACTION_KEY, quantity: 1 }, authHeaders());
    if (answer.status !== 201) throw new Error(`reserve: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
    reservationsCreated++;
    return answer.body.id as string;
  };
  const commit = async (reservationId: string): Promise<void> => {
    // No quantity: commit everything held (the documented default).
    const answer = await httpPost(agent, apiPort, `/v1/internal/reservations/${reservationId}/commit`, {}, authHeaders());
    if (answer.status !== 200) throw new Error(`commit: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
  };
  const lifecycleSamples: WorkflowSample[] = [];
  const lifecycle: LoadOp = async () => {
    const t0 = performance.now();
    const id = await reserve();
    const t1 = performance.now();
    await commit(id);
    const t2 = performance.now();
    lifecycleSamples.push({ workflowId: reservationWorkflowId(id), latencyMs: t2 - t0, completedAt: t2 });
    return { reserve: t1 - t0, commit: t2 - t1 };
  };

  // Smoke test plus the statement counts (also warms both processes up).
  await deduct(0);
  await lifecycle(0);
  const logFile = postgres.logFile ?? path.join(postgres.dataDir, 'postgres.log');
  const statements = {
    deduct: await countStatements(admin, logFile, async () => void (await deduct(0))),
    reserve: await countStatements(admin, logFile, async () => void (await reserve())),
    commit: await countStatements(admin, logFile, async () => commit(await reserve()).then(() => undefined)),
    baselineUpdate: 1,
  };
  // commit's count above includes a reserve: subtract it.
  statements.commit = subtractCounts(statements.commit, statements.reserve);
  log(`SQL statements per API deduct: ${describeStatements(statements.deduct)}`);
  log(`SQL statements per reserve: ${describeStatements(statements.reserve)}; per commit: ${describeStatements(statements.commit)}`);

  // --- (a) deducts ---------------------------------------------------------------------------------
  memory.phase = 'deduct';
  log(`(a) baseline: raw conditional UPDATE from ${DEDUCT_CLIENTS} pg clients, ${WARMUP_SECONDS}+${MEASURE_SECONDS} s`);
  const pgClients = await Promise.all(
    Array.from({ length: DEDUCT_CLIENTS }, async () => {
      const pgClient = new PgClient({ connectionString: postgres.url, application_name: 'bench-baseline' });
      await pgClient.connect();
      return pgClient;
    }),
  );
  const closePgClients = () => Promise.all(pgClients.map((pgClient) => pgClient.end().catch(() => undefined))).then(() => undefined);
  onCleanup('baseline pg clients', closePgClients);
  const rawUpdate: LoadOp = async (loop) => {
    const result = await pgClients[loop]!.query(BASELINE_UPDATE, [randomGrant()]);
    if (result.rowCount !== 1) throw new Error(`baseline UPDATE touched ${result.rowCount} rows`);
  };
  await settleDatabase(admin);
  const deductBaseline = await measure(meter, '(a) baseline', DEDUCT_CLIENTS, MEASURE_SECONDS, rawUpdate);
  const deductBaselineSerial = SERIAL_SECONDS > 0 ? await measure(meter, '(a) baseline single client', 1, SERIAL_SECONDS, rawUpdate, 0.5) : undefined;
  log(`(a) reference: the deduct's ${statements.deduct.total} SQL statements as one transaction from ${DEDUCT_CLIENTS} pg clients, 1+${REFERENCE_SECONDS} s`);
  await settleDatabase(admin);
  const deductSql = await measure(meter, '(a) SQL reference', DEDUCT_CLIENTS, REFERENCE_SECONDS, sqlDeductOp(pgClients, userIds, grantIds), 1);
  await closePgClients();

  log(`(a) api: POST /v1/internal/credits/deduct from ${DEDUCT_CLIENTS} HTTP clients, ${WARMUP_SECONDS}+${MEASURE_SECONDS} s`);
  await settleDatabase(admin);
  freshAgent();
  const deductApi = await measure(meter, '(a) api deduct', DEDUCT_CLIENTS, MEASURE_SECONDS, deduct);
  const deductApiSerial = SERIAL_SECONDS > 0 ? await measure(meter, '(a) api single client', 1, SERIAL_SECONDS, deduct, 0.5) : undefined;
  const deductRatio = deductApi.perSecond / deductBaseline.perSecond;
  log(`(a) reference: GET /healthz (HTTP stack only) from ${DEDUCT_CLIENTS} HTTP clients, 1+${REFERENCE_SECONDS} s`);
  const healthz: LoadOp = async () => {
    const answer = await httpRequest(agent, apiPort, 'GET', '/healthz', undefined);
    if (answer.status !== 200) throw new Error(`healthz: HTTP ${answer.status}`);
  };
  const healthApi = await measure(meter, '(a) healthz reference', DEDUCT_CLIENTS, REFERENCE_SECONDS, healthz, 1);

  process.stdout.write(`\n(a) Direct deducts — ${USERS} users, ${MEASURE_SECONDS} s measured after ${WARMUP_SECONDS} s warm-up\n`);
  const loadHeaders = ['', 'clients', 'ops/s', 'p50 ms', 'p99 ms', 'ok', 'errors'];
  printTable(loadHeaders, [
    loadRow('baseline: raw conditional UPDATE (pg)', deductBaseline),
    ...(deductBaselineSerial ? [loadRow('baseline, single client', deductBaselineSerial)] : []),
    loadRow('api: POST /v1/internal/credits/deduct', deductApi),
    ...(deductApiSerial ? [loadRow('api, single client', deductApiSerial)] : []),
    loadRow(`reference: deduct's ${statements.deduct.total} statements via pg`, deductSql),
    loadRow('reference: GET /healthz (no database)', healthApi),
  ]);
  reportErrors('baseline', deductBaseline);
  reportErrors('api deduct', deductApi);
  reportErrors('sql deduct', deductSql);
  reportErrors('healthz', healthApi);
  process.stdout.write(
    `  ratio api/baseline: ${deductRatio.toFixed(3)}   target >= ${TARGETS.deductRatio}: ${verdict(deductRatio >= TARGETS.deductRatio)}` +
      `   (api / the same SQL via pg: ${(deductApi.perSecond / deductSql.perSecond).toFixed(2)}; SQL via pg / baseline: ${(deductSql.perSecond / deductBaseline.perSecond).toFixed(3)})\n` +
      `  CPU ms per op — baseline:       ${cpuLine(deductBaseline)}\n` +
      `  CPU ms per op — api deduct:     ${cpuLine(deductApi)}\n` +
      `  CPU ms per op — SQL via pg:     ${cpuLine(deductSql)}\n` +
      `  CPU ms per op — GET /healthz:   ${cpuLine(healthApi)}\n` +
      `  SQL statements per op — baseline: 1; api deduct: ${describeStatements(statements.deduct)}\n\n`,
  );

  // --- (b) reserve -> commit -----------------------------------------------------------------------
  memory.phase = 'lifecycle';
  log(`(b) baseline: empty workflow + one no-op activity, client.workflow.execute from ${LIFECYCLE_CLIENTS} clients`);
  const baselineWorker = new ChildService(
    'baseline-worker',
    ['--import', 'tsx', __filename, '--baseline-worker'],
    { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_ADDRESS: temporalServer.address, BENCH_TASK_QUEUE: BASELINE_TASK_QUEUE, NODE_ENV: 'production' },
    path.join(workDir, 'baseline-worker.log'),
  );
  onCleanup('baseline worker', () => baselineWorker.stop());
  await waitForPollers(connection, BASELINE_TASK_QUEUE, baselineWorker);
  meter.track('baselineWorker', baselineWorker.pid);
  const baselineSamples: WorkflowSample[] = [];
  const emptyWorkflow: LoadOp = async () => {
    const workflowId = `bench-baseline-${randomUUID()}`;
    const started = performance.now();
    await client.workflow.execute<typeof benchWorkflow>('benchWorkflow', { taskQueue: BASELINE_TASK_QUEUE, workflowId });
    const done = performance.now();
    baselineSamples.push({ workflowId, latencyMs: done - started, completedAt: done });
  };
  const lifecycleBaseline = await measure(meter, '(b) baseline', LIFECYCLE_CLIENTS, MEASURE_SECONDS, emptyWorkflow);
  const lifecycleBaselineSerial = SERIAL_SECONDS > 0 ? await measure(meter, '(b) baseline single client', 1, SERIAL_SECONDS, emptyWorkflow, 0.5) : undefined;
  meter.untrack('baselineWorker');
  await baselineWorker.stop();

  log(`(b) api: POST /v1/internal/reservations then .../commit from ${LIFECYCLE_CLIENTS} HTTP clients`);
  await settleDatabase(admin);
  freshAgent();
  // Committed reservations stay open for the refund window: the worker keeps their runs cached.
  const workerGrowth = { rssBeforeKiB: readStatusKiB(worker.pid, 'VmRSS') ?? NaN, reservationsBefore: reservationsCreated, rssAfterKiB: NaN, reservationsAfter: 0 };
  const lifecycleApi = await measure(meter, '(b) api lifecycle', LIFECYCLE_CLIENTS, MEASURE_SECONDS, lifecycle);
  const lifecycleApiSerial = SERIAL_SECONDS > 0 ? await measure(meter, '(b) api single client', 1, SERIAL_SECONDS, lifecycle, 0.5) : undefined;
  workerGrowth.rssAfterKiB = readStatusKiB(worker.pid, 'VmRSS') ?? NaN;
  workerGrowth.reservationsAfter = reservationsCreated;
  const openWorkflowKiB = (workerGrowth.rssAfterKiB - workerGrowth.rssBeforeKiB) / (workerGrowth.reservationsAfter - workerGrowth.reservationsBefore);
  const lifecycleRatio = lifecycleApi.perSecond / lifecycleBaseline.perSecond;
  const breakdown = {
    baseline: await lifecycleBreakdown(client, baselineSamples, lifecycleBaseline.window),
    baselineSingleClient: lifecycleBaselineSerial ? await lifecycleBreakdown(client, baselineSamples, lifecycleBaselineSerial.window) : null,
    api: await lifecycleBreakdown(client, lifecycleSamples, lifecycleApi.window),
    apiSingleClient: lifecycleApiSerial ? await lifecycleBreakdown(client, lifecycleSamples, lifecycleApiSerial.window) : null,
  };
  const reserveP99 = lifecycleApi.parts.reserve?.p99 ?? NaN;

  process.stdout.write(`\n(b) Reserve -> commit lifecycles — ${MEASURE_SECONDS} s measured after ${WARMUP_SECONDS} s warm-up\n`);
  const partCells = (result: PhaseResult | undefined) =>
    result?.parts.reserve
      ? [fmt(result.parts.reserve.p50, 2), fmt(result.parts.reserve.p99, 2), fmt(result.parts.commit?.p50, 2), fmt(result.parts.commit?.p99, 2)]
      : ['-', '-', '-', '-'];
  printTable(
    ['', 'clients', 'lifecycles/s', 'p50 ms', 'p99 ms', 'ok', 'errors', 'reserve p50', 'reserve p99', 'commit p50', 'commit p99'],
    [
      loadRow('baseline: empty workflow + no-op activity', lifecycleBaseline, partCells(undefined)),
      ...(lifecycleBaselineSerial ? [loadRow('baseline, single client', lifecycleBaselineSerial, partCells(undefined))] : []),
      loadRow('api: reserve then commit', lifecycleApi, partCells(lifecycleApi)),
      ...(lifecycleApiSerial ? [loadRow('api, single client', lifecycleApiSerial, partCells(lifecycleApiSerial))] : []),
    ],
  );
  reportErrors('baseline workflows', lifecycleBaseline);
  reportErrors('api lifecycles', lifecycleApi);
  process.stdout.write(
    `  ratio api/baseline: ${lifecycleRatio.toFixed(3)}   target >= ${TARGETS.lifecycleRatio}: ${verdict(lifecycleRatio >= TARGETS.lifecycleRatio)}\n` +
      `  reserve p99 at ${LIFECYCLE_CLIENTS} clients: ${fmt(reserveP99, 1)} ms   target <= ${TARGETS.reserveP99Ms} ms: ${verdict(reserveP99 <= TARGETS.reserveP99Ms)}\n` +
      `  CPU ms per op — baseline: ${cpuLine(lifecycleBaseline)}\n` +
      `  CPU ms per op — api:      ${cpuLine(lifecycleApi)}\n` +
      `  SQL statements — reserve: ${describeStatements(statements.reserve)}; commit: ${describeStatements(statements.commit)}\n`,
  );
  process.stdout.write(`  Where a run's time goes (medians over sampled runs' workflow histories, ms):\n`);
  printTable(
    ['', 'runs', 'client total', 'wf task wait / run', 'activity wait / run', 'other (RPCs, API, start/update)', 'wf tasks / activities'],
    [
      breakdownRow(`baseline, ${LIFECYCLE_CLIENTS} clients`, breakdown.baseline),
      ...(breakdown.baselineSingleClient ? [breakdownRow('baseline, single client', breakdown.baselineSingleClient)] : []),
      breakdownRow(`api reserve+commit, ${LIFECYCLE_CLIENTS} clients`, breakdown.api),
      ...(breakdown.apiSingleClient ? [breakdownRow('api reserve+commit, single client', breakdown.apiSingleClient)] : []),
    ],
  );
  process.stdout.write('\n');

  // --- (c) memory ----------------------------------------------------------------------------------
  memory.stop();
  const memoryReport = { api: memory.report('api'), worker: memory.report('worker') };
  process.stdout.write(`(c) Peak memory (RSS, MiB; sampled every 200 ms, VmHWM from the kernel)\n`);
  const phases = ['startup', 'deduct', 'lifecycle'];
  printTable(
    ['process', 'pid', 'VmHWM', 'peak sampled', ...phases.map((phase) => `peak ${phase}`)],
    (['api', 'worker'] as const).map((name) => {
      const report = memoryReport[name];
      return [
        `${name} (${name === 'api' ? API_ENTRY : WORKER_ENTRY})`,
        String(report.pid),
        report.vmHwmKiB !== undefined ? fmt(mib(report.vmHwmKiB)) : '-',
        fmt(mib(report.peakSampledKiB)),
        ...phases.map((phase) => fmt(report.peakByPhaseKiB[phase] !== undefined ? mib(report.peakByPhaseKiB[phase]) : undefined)),
      ];
    }),
  );
  process.stdout.write(
    `  worker RSS ${fmt(mib(workerGrowth.rssBeforeKiB))} -> ${fmt(mib(workerGrowth.rssAfterKiB))} MiB over the API lifecycle runs, which left ` +
      `${workerGrowth.reservationsAfter - workerGrowth.reservationsBefore} more reservation workflows open (refund window): ~${fmt(openWorkflowKiB, 0)} KiB per open reservation\n\n`,
  );

  // --- summary -------------------------------------------------------------------------------------
  const checks = [
    { name: `deduct ratio >= ${TARGETS.deductRatio}`, value: round(deductRatio, 3), pass: deductRatio >= TARGETS.deductRatio },
    { name: `lifecycle ratio >= ${TARGETS.lifecycleRatio}`, value: round(lifecycleRatio, 3), pass: lifecycleRatio >= TARGETS.lifecycleRatio },
    { name: `reserve p99 <= ${TARGETS.reserveP99Ms} ms @${LIFECYCLE_CLIENTS}`, value: reserveP99, pass: reserveP99 <= TARGETS.reserveP99Ms },
  ];
  const apiPeak = mib(memoryReport.api.vmHwmKiB ?? memoryReport.api.peakSampledKiB);
  const workerPeak = mib(memoryReport.worker.vmHwmKiB ?? memoryReport.worker.peakSampledKiB);
  process.stdout.write(
    `================================ SUMMARY ================================\n` +
      `PostgreSQL ${pgSettings.server_version} ${EPHEMERAL ? 'EPHEMERAL (fsync off)' : `durable (fsync=${pgSettings.fsync}, synchronous_commit=${pgSettings.synchronous_commit})`}; ` +
      `Temporal ${temporalVersion} dev server (in memory); ${os.cpus().length} CPUs\n` +
      `deducts/s        api ${fmt(deductApi.perSecond)} (p50 ${fmt(deductApi.p50, 2)} / p99 ${fmt(deductApi.p99, 2)} ms)  ` +
      `baseline ${fmt(deductBaseline.perSecond)}  ratio ${deductRatio.toFixed(3)}  ${verdict(checks[0]!.pass)}\n` +
      `lifecycles/s     api ${fmt(lifecycleApi.perSecond)} (reserve p50 ${fmt(lifecycleApi.parts.reserve?.p50, 2)} / p99 ${fmt(reserveP99, 2)} ms)  ` +
      `baseline ${fmt(lifecycleBaseline.perSecond)}  ratio ${lifecycleRatio.toFixed(3)}  ${verdict(checks[1]!.pass)}\n` +
      `reserve p99      ${fmt(reserveP99, 1)} ms at ${LIFECYCLE_CLIENTS} clients (target <= ${TARGETS.reserveP99Ms} ms)  ${verdict(checks[2]!.pass)}\n` +
      `peak RSS         api ${fmt(apiPeak)} MiB, worker ${fmt(workerPeak)} MiB\n` +
      `targets met      ${checks.filter((check) => check.pass).length}/${checks.length}\n` +
      (disturbedPhases.length > 0
        ? `WARNING          other processes loaded this machine during: ${disturbedPhases.join('; ')} — rerun on a quiet machine\n`
        : `machine          no significant load from other processes during the measured windows\n`) +
      `results          ${path.relative(ROOT, RESULTS_FILE)}\n` +
      `==========================================================================\n`,
  );

  const results = {
    startedAt: startedAt.toISOString(),
    durationSeconds: round((performance.now() - benchStarted) / 1000, 1),
    machine: {
      cpus: os.cpus().length,
      cpuModel,
      memoryGiB: round(os.totalmem() / 2 ** 30),
      os: `${os.type()} ${os.release()}`,
      node: process.version,
      tmpFilesystem: fsType(workDir),
    },
    settings: {
      measureSeconds: MEASURE_SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      serialSeconds: SERIAL_SECONDS,
      users: USERS,
      creditsPerUser: CREDITS_PER_USER,
      actionKey: ACTION_KEY,
      deductClients: DEDUCT_CLIENTS,
      lifecycleClients: LIFECYCLE_CLIENTS,
      apiDatabasePoolSize: 20,
      postgresEphemeral: EPHEMERAL,
      apiEntry: API_ENTRY,
      workerEntry: WORKER_ENTRY,
      cpuProfile: CPU_PROFILE,
    },
    postgres: pgSettings,
    temporal: { serverVersion: temporalVersion, devServer: true, inMemory: true },
    startupMs: readyMs,
    targets: TARGETS,
    deduct: {
      baseline: deductBaseline,
      baselineSingleClient: deductBaselineSerial ?? null,
      api: deductApi,
      apiSingleClient: deductApiSerial ?? null,
      ratio: round(deductRatio, 4),
      pass: checks[0]!.pass,
      referenceSqlViaPg: deductSql,
      referenceHealthz: healthApi,
      apiOverSqlRatio: round(deductApi.perSecond / deductSql.perSecond, 4),
      sqlOverBaselineRatio: round(deductSql.perSecond / deductBaseline.perSecond, 4),
    },
    lifecycle: {
      baseline: lifecycleBaseline,
      baselineSingleClient: lifecycleBaselineSerial ?? null,
      api: lifecycleApi,
      apiSingleClient: lifecycleApiSerial ?? null,
      ratio: round(lifecycleRatio, 4),
      pass: checks[1]!.pass,
      reserveP99Ms: reserveP99,
      reserveP99Pass: checks[2]!.pass,
      breakdown,
    },
    memory: {
      apiPeakMiB: round(apiPeak),
      workerPeakMiB: round(workerPeak),
      workerGrowthDuringLifecycles: { ...workerGrowth, perOpenReservationKiB: round(openWorkflowKiB, 0) },
      reservationWorkflowsLeftOpen: reservationsCreated,
      api: memoryReport.api,
      worker: memoryReport.worker,
    },
    sqlStatementsPerOperation: statements,
    checks,
    disturbedPhases,
  };
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  // (`window` holds this process's clock readings: meaningless outside it.)
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(results, (key, value: unknown) => (key === 'window' ? undefined : value), 2)}\n`);

  log('stopping services');
  await cleanup();
  log('done');
}

function subtractCounts(total: StatementCount, part: StatementCount): StatementCount {
  const minus = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(Object.entries(a).map(([key, n]) => [key, n - (b[key] ?? 0)]).filter(([, n]) => (n as number) > 0));
  return {
    total: total.total - part.total,
    byApplication: minus(total.byApplication, part.byApplication),
    byVerb: minus(total.byVerb, part.byVerb),
    statements: total.statements.slice(part.statements.length),
  };
}

function fsType(dir: string): string {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', dir]).toString().trim();
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------------
// Baseline worker (child process)
// ---------------------------------------------------------------------------------------------------

async function runBaselineWorker(): Promise<void> {
  const { DefaultLogger, NativeConnection, Runtime, Worker } = await import('@temporalio/worker');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const address = process.env.TEMPORAL_ADDRESS;
  const taskQueue = process.env.BENCH_TASK_QUEUE;
  if (!address || !taskQueue) throw new Error('TEMPORAL_ADDRESS and BENCH_TASK_QUEUE must be set');
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    workflowsPath: require.resolve('./bench-workflows'),
    activities: { noop: async () => undefined },
    // As the billing worker (worker/create-worker.ts).
    maxConcurrentActivityTaskExecutions: 50,
  });
  await worker.run(); // until SIGTERM/SIGINT
  await connection.close();
}

if (process.argv.includes('--baseline-worker')) {
  runBaselineWorker().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`baseline worker failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
} else {
  main().then(
    () => process.exit(0),
    async (error: unknown) => {
      // After Ctrl-C the signal handler cleans up and exits; whatever failed meanwhile is a consequence.
      if (aborting) return;
      process.stderr.write(`\nbench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      await cleanup();
      process.exit(1);
    },
  );
}
