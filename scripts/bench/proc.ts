/**
 * CPU time and memory of process trees, from /proc: what each process of the bench (load generator, API,
 * worker, PostgreSQL, Temporal) spends per operation, and what other work on the machine took meanwhile.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

const ticksToMs = (ticks: number) => (ticks * 1000) / CLK_TCK;

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
  return ticksToMs(root.ticks + descendants(pid, table).reduce((sum, child) => sum + child.ticks, 0));
}

export function readStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
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
    return { total: ticksToMs(user + nice + system + idle + iowait + irq + softirq + steal), irq: ticksToMs(irq + softirq), steal: ticksToMs(steal) };
  } catch {
    return { total: NaN, irq: 0, steal: 0 };
  }
}

export interface CpuSnapshot {
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
export class CpuMeter {
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
    // Ours: this process, everything it started (services, children, the watchdog) and its ancestors (npm).
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
    return {
      components,
      foreignMs: ticksToMs(ticks(before.foreign, after.foreign)),
      kernelMs: ticksToMs(ticks(before.kernel, after.kernel)) + (after.machine.irq - before.machine.irq),
      stealMs: after.machine.steal - before.machine.steal,
      totalMs: after.machine.total - before.machine.total,
    };
  }
}

export interface MemoryReport {
  pid: number;
  processes: number;
  peakSampledKiB: number;
  peakByPhaseKiB: Record<string, number>;
  vmHwmKiB?: number;
}

/** Polls VmRSS of process trees every 200 ms; keeps the peak overall and per phase (the scenario running). */
export class MemorySampler {
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
    // Children (should a program fork) are looked up once a second; RSS every tick.
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

  report(name: string): MemoryReport {
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

export function fsType(dir: string): string {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', dir]).toString().trim();
  } catch {
    return 'unknown';
  }
}
