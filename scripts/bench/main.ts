/**
 * `npm run bench [-- <scenario> ...] [--seconds N] [--list]`: measures the API against baselines on the same
 * services, in one run, on services it starts itself (scripts/bench/stack.ts). Each scenario is a file in
 * scripts/bench/scenarios/ (deduct, sql-path, lifecycle, orders, events, expiry, edge, memory; grown only when named); with none named, all run. Prints a table per
 * scenario, one line per performance target (`target <n> <name>: <value> (goal >= <x>) met|missed`) and a
 * summary; writes the raw figures to .data/bench-results.json. The exit code is 0 unless the run itself
 * fails: a missed target is a finding, not an error. Options: docs/performance.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cleanup } from './cleanup';
import { Bench } from './context';
import { ApiClient } from './http';
import { abortLoad, isAborting } from './load';
import { CpuMeter, MemorySampler, fsType } from './proc';
import { elapsedSeconds, log, round, targetLine, targetMet, write } from './report';
import { loadScenarios, selectScenarios } from './scenario';
import { RESULTS_FILE, ROOT, UsageError, readSettings, type BenchSettings } from './settings';
import { BenchStack } from './stack';

const cleanup = new Cleanup();

function installSignalHandlers(): void {
  const signals: Array<[NodeJS.Signals, number]> = [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ];
  for (const [signal, code] of signals) {
    process.on(signal, () => {
      if (cleanup.started) {
        process.stderr.write(`\n${signal} again: exiting now\n`);
        process.exit(code);
      }
      process.stderr.write(`\n${signal}: stopping the bench and cleaning up...\n`);
      abortLoad();
      void cleanup.run().finally(() => {
        process.stderr.write('cleaned up\n');
        process.exit(code);
      });
    });
  }
}

function header(settings: BenchSettings, scenarioNames: string[]): void {
  const cpuModel = os.cpus()[0]?.model ?? 'unknown';
  write(
    `durable-billing bench — ${new Date().toISOString()} — scenarios: ${scenarioNames.join(', ')}\n` +
      `machine: ${os.cpus().length} × ${cpuModel}, ${round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}\n` +
      `settings: BENCH_SECONDS=${settings.measureSeconds} (after ${settings.warmupSeconds} s warm-up), BENCH_USERS=${settings.users}, ` +
      `serial runs ${settings.serialSeconds} s, programs ${settings.runtime === 'compiled' ? 'compiled (as production runs them)' : 'under tsx'}, ` +
      `PostgreSQL ${settings.ephemeral ? 'EPHEMERAL (fsync=off, synchronous_commit=off)' : 'durable (fsync=on, synchronous_commit=on)'}\n\n`,
  );
}

function summary(bench: Bench): void {
  const { stack, settings } = bench;
  const met = bench.targets.filter(targetMet).length;
  write(
    `================================ SUMMARY ================================\n` +
      `PostgreSQL ${stack.pgSettings.server_version} ${settings.ephemeral ? 'EPHEMERAL (fsync off)' : `durable (fsync=${stack.pgSettings.fsync}, synchronous_commit=${stack.pgSettings.synchronous_commit})`}; ` +
      `Temporal ${stack.temporalVersion} dev server (in memory); ${os.cpus().length} CPUs\n` +
      bench.summaryLines.map((line) => `${line}\n`).join('') +
      (bench.disturbedPhases.length > 0
        ? `WARNING          other processes loaded this machine during: ${bench.disturbedPhases.join('; ')} — rerun on a quiet machine\n`
        : `machine          no significant load from other processes during the measured windows\n`) +
      `results          ${path.relative(ROOT, RESULTS_FILE)}\n` +
      `targets met      ${met}/${bench.targets.length}\n` +
      bench.targets.map((target) => `${targetLine(target)}\n`).join('') +
      `==========================================================================\n`,
  );
}

function writeResults(bench: Bench, startedAt: Date): void {
  const { stack, settings } = bench;
  const results = {
    startedAt: startedAt.toISOString(),
    durationSeconds: elapsedSeconds(),
    scenarios: bench.completed,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: round(os.totalmem() / 2 ** 30),
      os: `${os.type()} ${os.release()}`,
      node: process.version,
      tmpFilesystem: fsType(stack.workDir),
    },
    settings: { ...settings, apiDatabasePoolSize: 20 },
    postgres: stack.pgSettings,
    temporal: { serverVersion: stack.temporalVersion, devServer: true, inMemory: true },
    startupMs: stack.readyMs,
    targets: bench.targets.map((target) => ({ ...target, met: targetMet(target), line: targetLine(target) })),
    ...bench.results,
    disturbedPhases: bench.disturbedPhases,
  };
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  // (`window` holds this process's clock readings: meaningless outside it.)
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(results, (key, value: unknown) => (key === 'window' ? undefined : value), 2)}\n`);
}

async function main(): Promise<void> {
  const settings = readSettings(process.argv.slice(2));
  const all = loadScenarios();
  if (settings.list) {
    for (const scenario of all) write(`${scenario.name.padEnd(12)} ${scenario.description}\n`);
    return;
  }
  const scenarios = selectScenarios(all, settings.scenarios);
  installSignalHandlers();
  const startedAt = new Date();
  header(settings, scenarios.map((scenario) => scenario.name));

  const memory = new MemorySampler();
  memory.start();
  cleanup.add('memory sampler', () => memory.stop());
  const stack = await BenchStack.start(settings, cleanup, memory);
  const api = new ApiClient(stack.apiPort, stack.serviceKey);
  cleanup.add('http agent', () => api.close());
  const meter = new CpuMeter();
  meter.track('api', stack.api.pid);
  meter.track('worker', stack.worker.pid);
  meter.track('postgres', stack.postgres.pid);
  meter.track('temporal', stack.temporalServer.pid);

  const bench = new Bench(settings, stack, api, meter, memory);
  for (const scenario of scenarios) {
    log(`— scenario ${scenario.name}: ${scenario.description}`);
    bench.phase(scenario.name);
    await scenario.run(bench);
    bench.completed.push(scenario.name);
  }
  summary(bench);
  writeResults(bench, startedAt);
  log('stopping services');
  await cleanup.run();
  log('done');
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    // After Ctrl-C the signal handler cleans up and exits; whatever failed meanwhile is a consequence.
    if (isAborting()) return;
    if (error instanceof UsageError) {
      process.stderr.write(`bench: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`\nbench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    await cleanup.run();
    process.exit(1);
  },
);
