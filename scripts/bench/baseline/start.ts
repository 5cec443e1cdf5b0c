/**
 * Starts the baseline worker (./worker.ts) as a process of its own on a task queue of the scenario's,
 * with its CPU counted as `baselineWorker`; `stop` stops it and answers its peak RSS (VmHWM, KiB).
 */
import type { Bench } from '../context';
import { readStatusKiB } from '../proc';
import { BASELINE_WORKER_ENTRY } from '../stack';

export interface BaselineWorker {
  pid: number;
  stop(): Promise<number | undefined>;
}

export async function startBaselineWorker(bench: Bench, taskQueue: string, name = 'baseline-worker'): Promise<BaselineWorker> {
  const { stack } = bench;
  const program = await stack.startProgram(
    name,
    BASELINE_WORKER_ENTRY,
    { TEMPORAL_ADDRESS: stack.temporalServer.address, BENCH_TASK_QUEUE: taskQueue, NODE_ENV: 'production' },
    () => stack.assertPolling(taskQueue),
  );
  bench.meter.track('baselineWorker', program.pid);
  return {
    pid: program.pid,
    async stop() {
      const peakKiB = readStatusKiB(program.pid, 'VmHWM');
      bench.meter.untrack('baselineWorker');
      await program.stop();
      return peakKiB;
    },
  };
}
