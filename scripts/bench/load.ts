/**
 * The shared load runner: one closed-loop load generator for every side (the API and its baselines), with
 * latency percentiles from HdrHistogram (hdr-histogram-js: microsecond resolution, 3 significant digits).
 */
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';

export interface LatencyStats {
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
  /** The clock's time (performance.now() by default) when the measured window opened and closed (for matching samples to it). */
  window: { start: number; end: number };
}

/**
 * Time as the load runner reads it: the system's in a bench, a fake one in the plumbing tests (so what they
 * check does not depend on how loaded the machine is).
 */
export interface LoadClock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Calls `callback` once `ms` have passed on this clock; returns a function that cancels the call. */
  after(ms: number, callback: () => void): () => void;
}

export const systemClock: LoadClock = {
  now: () => performance.now(),
  after: (ms, callback) => {
    const timer = setTimeout(callback, ms);
    return () => clearTimeout(timer);
  },
};

export interface LoadOptions {
  warmupMs?: number;
  /** Default: the system clock. */
  clock?: LoadClock;
  /** Called (synchronously) when the measured window opens and closes: CPU snapshots. */
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
}

/** An operation: `loop` is the index of the client loop running it (0..concurrency-1). It may return
 * the durations (ms) of named parts of itself. Throwing counts as an error. */
export type LoadOp = (loop: number) => Promise<Record<string, number> | void>;

/** Set on Ctrl-C/SIGTERM: load loops stop at once. */
let aborting = false;

export class AbortedError extends Error {
  constructor() {
    super('bench aborted');
  }
}

export function abortLoad(): void {
  aborting = true;
}

export function isAborting(): boolean {
  return aborting;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Latencies in ms, kept as integer microseconds. */
class LatencyHistogram {
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, autoResize: true });

  record(ms: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  stats(): LatencyStats {
    if (this.histogram.totalCount === 0) return { p50: NaN, p99: NaN, mean: NaN, max: NaN };
    const ms = (us: number) => round(us / 1000, 2);
    // A percentile is reported as the top of its bucket (within 0.1 %), which can lie above the largest value
    // recorded: no percentile above the maximum.
    const percentile = (q: number) => ms(Math.min(this.histogram.getValueAtPercentile(q), this.histogram.maxValue));
    return {
      p50: percentile(50),
      p99: percentile(99),
      mean: ms(this.histogram.mean),
      max: ms(this.histogram.maxValue),
    };
  }
}

/**
 * Runs `concurrency` closed loops of `op` (each client starts its next operation when the previous one
 * ends) for warm-up + `durationMs`. Counts and times only the operations that complete inside the measured
 * window; operations still in flight when it closes are awaited but not counted.
 */
export async function runLoad(concurrency: number, durationMs: number, op: LoadOp, options: LoadOptions = {}): Promise<LoadResult> {
  const clock = options.clock ?? systemClock;
  const latencies = new LatencyHistogram();
  const parts = new Map<string, LatencyHistogram>();
  let errors = 0;
  let firstError: string | undefined;
  let measuring = false;
  let stopping = false;
  let windowStart = 0;
  let windowEnd = 0;

  const cancelStart = clock.after(options.warmupMs ?? 0, () => {
    options.onWindowStart?.();
    windowStart = clock.now();
    measuring = true;
  });
  const cancelEnd = clock.after((options.warmupMs ?? 0) + durationMs, () => {
    windowEnd = clock.now();
    measuring = false;
    stopping = true;
    options.onWindowEnd?.();
  });

  const loop = async (index: number) => {
    while (!stopping && !aborting) {
      const started = clock.now();
      try {
        const opParts = await op(index);
        if (!measuring) continue;
        latencies.record(clock.now() - started);
        for (const [name, ms] of Object.entries(opParts ?? {})) {
          let histogram = parts.get(name);
          if (!histogram) parts.set(name, (histogram = new LatencyHistogram()));
          histogram.record(ms);
        }
      } catch (error) {
        if (measuring) errors++;
        firstError ??= `${measuring ? '' : '(during warm-up) '}${error instanceof Error ? error.message : String(error)}`;
        // An operation that fails at once (a closed client) must not spin this loop without ever
        // yielding to timers and I/O.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, (_, index) => loop(index)));
  } finally {
    cancelStart();
    cancelEnd();
  }
  if (aborting) throw new AbortedError();
  const elapsedMs = windowEnd - windowStart;
  return {
    concurrency,
    count: latencies.count,
    errors,
    elapsedMs: round(elapsedMs, 1),
    perSecond: round((latencies.count / elapsedMs) * 1000, 1),
    ...latencies.stats(),
    parts: Object.fromEntries([...parts].map(([name, histogram]) => [name, histogram.stats()])),
    ...(firstError !== undefined ? { firstError } : {}),
    window: { start: windowStart, end: windowEnd },
  };
}
