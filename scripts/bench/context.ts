/**
 * What every scenario gets: the running stack, an HTTP client for the API, CPU and memory meters, and the
 * places to put its figures (results file, summary lines, targets).
 */
import os from 'node:os';
import type { ApiClient } from './http';
import { runLoad, type LoadOp, type LoadResult } from './load';
import { CpuMeter, type CpuDelta, type CpuSnapshot, type MemorySampler } from './proc';
import { log, pct, round, targetLine, write, type Target } from './report';
import type { BenchSettings } from './settings';
import type { BenchStack } from './stack';

/** Other processes using more than this share of the machine during a window make its figures suspect. */
const FOREIGN_LOAD_WARNING = 0.1;

export interface PhaseResult extends LoadResult {
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

export class Bench {
  /** Scenario results, by scenario name, for the results file. */
  readonly results: Record<string, unknown> = {};
  readonly targets: Target[] = [];
  /** One line per scenario for the summary. */
  readonly summaryLines: string[] = [];
  readonly disturbedPhases: string[] = [];
  /** Scenarios run so far, in order. */
  readonly completed: string[] = [];
  /** Reservations the API was asked for (their workflows stay open for the refund window). */
  reservationsCreated = 0;

  constructor(
    readonly settings: BenchSettings,
    readonly stack: BenchStack,
    readonly api: ApiClient,
    readonly meter: CpuMeter,
    readonly memory: MemorySampler,
  ) {}

  /** Names the load that follows, for the memory peaks by phase. */
  phase(name: string): void {
    this.memory.phase = name;
  }

  /** One load run with CPU accounting for its measured window. */
  async measure(label: string, concurrency: number, seconds: number, op: LoadOp, warmupSeconds = this.settings.warmupSeconds): Promise<PhaseResult> {
    let before: CpuSnapshot | undefined;
    let after: CpuSnapshot | undefined;
    const result = await runLoad(concurrency, seconds * 1000, op, {
      warmupMs: warmupSeconds * 1000,
      onWindowStart: () => (before = this.meter.snapshot()),
      onWindowEnd: () => (after = this.meter.snapshot()),
    });
    const phase = phaseResult(result, CpuMeter.delta(before!, after!));
    if (phase.foreignCpuShare > FOREIGN_LOAD_WARNING || phase.stealShare > FOREIGN_LOAD_WARNING) {
      this.disturbedPhases.push(`${label} (other processes ${pct(phase.foreignCpuShare)}, steal ${pct(phase.stealShare)} of the CPUs)`);
      log(`  ! ${label}: other processes on this machine used ${pct(phase.foreignCpuShare)} of its CPUs during the window: figures disturbed`);
    }
    return phase;
  }

  /** Records a target's measurement and prints its line. */
  target(target: Target): void {
    this.targets.push(target);
    write(`  ${targetLine(target)}   (${target.meaning})\n`);
  }

  summary(line: string): void {
    this.summaryLines.push(line);
  }
}

export function cpuLine(result: PhaseResult): string {
  const parts = Object.entries(result.cpuMsPerOp)
    .filter(([, ms]) => Number.isFinite(ms) && ms > 0.0005)
    .map(([name, ms]) => `${name} ${ms.toFixed(3)}`);
  return `${parts.join(', ')}  (of all CPUs: bench ${pct(result.cpuUtilisation)}, kernel/irq ${pct(result.kernelCpuShare)}, other processes ${pct(result.foreignCpuShare)})`;
}
