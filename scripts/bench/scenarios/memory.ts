/**
 * Peak memory of the API and the worker (target 4): the API under the deduct load, the worker with its
 * default workflow cache after the reservation load. Runs last and reports on the load of the scenarios
 * before it; run alone (`npm run bench -- memory`), it applies that load itself.
 */
import type { Bench } from '../context';
import type { MemoryReport } from '../proc';
import { fmt, log, mib, printTable, round, write } from '../report';
import type { Scenario } from '../scenario';
import { apiDeductOp } from './deduct';
import { reservationCalls } from './lifecycle';

/** Target 4, MiB. */
const API_PEAK_GOAL_MIB = 200;
const WORKER_PEAK_GOAL_MIB = 350;
const LOAD_CLIENTS = { deduct: 32, lifecycle: 16 } as const;

/** Puts the API and the worker under the load the other scenarios would have applied. */
async function applyMissingLoad(bench: Bench): Promise<void> {
  const { settings } = bench;
  if (!bench.completed.includes('deduct')) {
    log(`memory: deduct load from ${LOAD_CLIENTS.deduct} HTTP clients, ${settings.warmupSeconds}+${settings.measureSeconds} s`);
    bench.phase('deduct');
    await bench.measure('memory: deduct load', LOAD_CLIENTS.deduct, settings.measureSeconds, apiDeductOp(bench));
  }
  if (!bench.completed.includes('lifecycle')) {
    log(`memory: reserve -> commit load from ${LOAD_CLIENTS.lifecycle} HTTP clients, ${settings.warmupSeconds}+${settings.measureSeconds} s`);
    bench.phase('lifecycle');
    await bench.measure('memory: lifecycle load', LOAD_CLIENTS.lifecycle, settings.measureSeconds, reservationCalls(bench).lifecycle);
  }
  bench.phase('memory');
}

const peakMiB = (report: MemoryReport) => mib(report.vmHwmKiB ?? report.peakSampledKiB);

async function run(bench: Bench): Promise<void> {
  await applyMissingLoad(bench);
  const { stack, settings } = bench;
  const reports = { api: bench.memory.report('api'), worker: bench.memory.report('worker') };
  const phases = ['startup', 'deduct', 'lifecycle'];
  write(`\nPeak memory (RSS, MiB; sampled every 200 ms, VmHWM from the kernel)\n`);
  printTable(
    ['process', 'pid', 'VmHWM', 'peak sampled', ...phases.map((phase) => `peak ${phase}`)],
    (['api', 'worker'] as const).map((name) => {
      const report = reports[name];
      return [
        `${name} (${stack.describeProgram(name === 'api' ? settings.apiEntry : settings.workerEntry)})`,
        String(report.pid),
        report.vmHwmKiB !== undefined ? fmt(mib(report.vmHwmKiB)) : '-',
        fmt(mib(report.peakSampledKiB)),
        ...phases.map((phase) => fmt(report.peakByPhaseKiB[phase] !== undefined ? mib(report.peakByPhaseKiB[phase]) : undefined)),
      ];
    }),
  );
  // "Under the deduct load": the API's peak during that phase (its start-up peak is not the target's).
  const apiUnderDeducts = reports.api.peakByPhaseKiB.deduct;
  const apiPeak = apiUnderDeducts !== undefined ? mib(apiUnderDeducts) : peakMiB(reports.api);
  const workerPeak = peakMiB(reports.worker);
  bench.target({
    number: 4,
    name: 'api-rss-mib',
    value: apiPeak,
    comparison: '<=',
    goal: API_PEAK_GOAL_MIB,
    digits: 1,
    meaning: `API peak RSS under the deduct load (VmHWM over the whole run ${fmt(peakMiB(reports.api))} MiB)`,
  });
  bench.target({
    number: 4,
    name: 'worker-rss-mib',
    value: workerPeak,
    comparison: '<=',
    goal: WORKER_PEAK_GOAL_MIB,
    digits: 1,
    meaning: `worker VmHWM over the whole run, default workflow cache, ${bench.reservationsCreated} reservation workflows left open`,
  });
  write('\n');
  bench.summary(`peak RSS         api ${fmt(apiPeak)} MiB under deducts (VmHWM ${fmt(peakMiB(reports.api))}), worker ${fmt(workerPeak)} MiB`);
  bench.results.memory = {
    apiPeakUnderDeductsMiB: round(apiPeak),
    apiPeakMiB: round(peakMiB(reports.api)),
    workerPeakMiB: round(workerPeak),
    reservationWorkflowsLeftOpen: bench.reservationsCreated,
    api: reports.api,
    worker: reports.worker,
  };
}

export const scenario: Scenario = {
  name: 'memory',
  order: 90,
  description: 'peak RSS of the API (under the deduct load) and the worker (target 4)',
  run,
};
