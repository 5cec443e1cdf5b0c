/**
 * The bench's settings: environment variables (documented in docs/performance.md) and command-line
 * arguments (`npm run bench -- [scenario ...] [--seconds N] [--list]`).
 */
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const RESULTS_FILE = path.join(ROOT, '.data', 'bench-results.json');
export const PROFILE_DIR = path.join(ROOT, '.data', 'bench-profiles');

/** How the API and the worker run: the compiled JavaScript production runs, or the sources under tsx. */
export type Runtime = 'compiled' | 'tsx';

export interface BenchSettings {
  /** Measured window of each main run, after the warm-up. */
  measureSeconds: number;
  warmupSeconds: number;
  /** Single-client latency runs; 0 skips them. */
  serialSeconds: number;
  /** Shorter reference runs that explain a main run's figures. */
  referenceSeconds: number;
  /** Users (one grant each) the load is spread over. */
  users: number;
  /** PostgreSQL without fsync (figures then say nothing about durable commits). */
  ephemeral: boolean;
  /** V8 CPU profiles of the API and worker (slows them down). */
  cpuProfile: boolean;
  runtime: Runtime;
  /** The programs under test, as TypeScript sources (a candidate change can be benchmarked against the same baselines). */
  apiEntry: string;
  workerEntry: string;
  /** Scenario names given on the command line; empty = all. */
  scenarios: string[];
  /** `--list`: print the scenarios and exit. */
  list: boolean;
}

function envNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  return checkedNumber(`${name}=${raw}`, raw, min);
}

function checkedNumber(label: string, raw: string, min: number): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new UsageError(`${label}: expected a number >= ${min}`);
  return value;
}

const isOn = (value: string | undefined) => value === '1' || value === 'true';

/** A mistake on the command line or in a BENCH_* variable: reported without a stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function readSettings(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchSettings {
  let measureSeconds = envNumber(env, 'BENCH_SECONDS', 10, 0.5);
  const scenarios: string[] = [];
  let list = false;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--list') list = true;
    else if (arg === '--seconds' || arg.startsWith('--seconds=')) {
      const raw = arg.includes('=') ? arg.slice('--seconds='.length) : argv[++index];
      if (raw === undefined) throw new UsageError('--seconds needs a value');
      measureSeconds = checkedNumber(`--seconds ${raw}`, raw, 0.5);
    } else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg} (options: --seconds N, --list)`);
    else scenarios.push(arg);
  }
  const runtime = env.BENCH_RUNTIME ?? 'compiled';
  if (runtime !== 'compiled' && runtime !== 'tsx') throw new UsageError(`BENCH_RUNTIME=${runtime}: expected compiled or tsx`);
  return {
    measureSeconds,
    warmupSeconds: envNumber(env, 'BENCH_WARMUP_SECONDS', 2, 0),
    serialSeconds: envNumber(env, 'BENCH_SERIAL_SECONDS', 2, 0),
    referenceSeconds: Math.min(5, measureSeconds),
    users: Math.floor(envNumber(env, 'BENCH_USERS', 1000, 1)),
    ephemeral: isOn(env.BENCH_EPHEMERAL),
    cpuProfile: isOn(env.BENCH_CPU_PROFILE),
    runtime,
    apiEntry: env.BENCH_API_ENTRY || 'api/main.ts',
    workerEntry: env.BENCH_WORKER_ENTRY || 'worker/main.ts',
    scenarios,
    list,
  };
}
