/**
 * Child processes that never outlive us, and the rules every start function follows:
 * - binds to 127.0.0.1 only; port 0/undefined means "pick a free one";
 * - returns only once the service answers real requests, not merely once the process is up;
 * - sends the child's output to a log file (or inherits stdio when asked) and puts the log's tail into
 *   any start error, so a failure is never silent;
 * - no child outlives this process: stopped on exit and on unhandled SIGINT/SIGTERM/SIGHUP, and by a
 *   tiny watchdog process when this one is killed outright (SIGKILL, OOM).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { errorMessage, lastLines } from './commands';

export const LOOPBACK = '127.0.0.1';
export const DEFAULT_READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Asks the OS for a free TCP port on the loopback interface. Another process may grab it before we bind
 * it; the start functions retry with a fresh port when that happens. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

/**
 * The watchdog: a separate Node process whose stdin is a pipe from us. The pipe closes however we die —
 * including SIGKILL, where no exit handler runs — and the watchdog then terminates every child still
 * registered. It runs in its own session so a Ctrl-C to our process group does not take it down first.
 */
const WATCHDOG_SOURCE = `
'use strict';
const children = new Map();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {});
let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  pending += chunk;
  let end;
  while ((end = pending.indexOf('\\n')) >= 0) {
    const [op, pid, signal] = pending.slice(0, end).split(' ');
    pending = pending.slice(end + 1);
    if (op === '+') children.set(Number(pid), signal);
    else children.delete(Number(pid));
  }
});
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
process.stdin.on('close', () => {
  for (const [pid, signal] of children) { try { process.kill(pid, signal); } catch {} }
  const deadline = Date.now() + ${STOP_GRACE_MS};
  const poll = setInterval(() => {
    const left = [...children.keys()].filter(alive);
    if (left.length === 0) process.exit(0);
    if (Date.now() > deadline) {
      for (const pid of left) { try { process.kill(pid, 'SIGKILL'); } catch {} }
      process.exit(0);
    }
  }, 100);
});
`;

let watchdogInput: net.Socket | undefined;

function tellWatchdog(line: string): void {
  if (!watchdogInput) {
    const watchdog = spawn(process.execPath, ['-e', WATCHDOG_SOURCE], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
      // NODE_OPTIONS may carry loaders (tsx, jest) that the watchdog does not need.
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    watchdog.unref();
    watchdogInput = watchdog.stdin as net.Socket;
    watchdogInput.on('error', () => undefined); // watchdog gone: exit hooks still cover normal exits
    watchdogInput.unref();
  }
  watchdogInput.write(`${line}\n`);
}

const liveServices = new Set<ServiceProcess>();
let exitHooksInstalled = false;

function killAllNow(): void {
  for (const service of liveServices) service.signal(service.emergencySignal);
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      // Another handler owns this signal (e.g. a dev script shutting down in order): it calls stop().
      if (process.listenerCount(signal) > 1) return;
      killAllNow();
      // Restore the default action and re-raise, so we terminate exactly as we would have without us.
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Where a child's stdout/stderr go: a file (appended to) or this process's own stdio. */
export type LogDestination = string | 'inherit';

interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  log: LogDestination;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** First the graceful stop signal, then escalations, each after STOP_GRACE_MS. */
  stopSignals: NodeJS.Signals[];
  /** Sent when we exit without stop(); must end the service promptly without our help. */
  emergencySignal: NodeJS.Signals;
}

/** Thrown when a service does not come up; carries the log tail, and whether its port was taken. */
export class ServiceStartError extends Error {
  constructor(
    message: string,
    readonly logTail: string,
  ) {
    super(logTail ? `${message}\n--- last lines of its log ---\n${logTail}` : message);
    this.name = 'ServiceStartError';
  }

  get portInUse(): boolean {
    return /address already in use/i.test(this.logTail);
  }
}

class ServiceProcess {
  readonly exited: Promise<void>;
  readonly emergencySignal: NodeJS.Signals;
  private exitDescription: string | undefined;
  private readonly child: ChildProcess;
  private readonly logOffset: number;

  constructor(private readonly spec: ServiceSpec) {
    this.emergencySignal = spec.emergencySignal;
    let stdio: 'inherit' | ['ignore', number, number] = 'inherit';
    let logFd: number | undefined;
    this.logOffset = 0;
    if (spec.log !== 'inherit') {
      fs.mkdirSync(path.dirname(spec.log), { recursive: true });
      logFd = fs.openSync(spec.log, 'a');
      fs.writeSync(logFd, `\n=== ${new Date().toISOString()} starting ${spec.name}: ${spec.command} ${spec.args.join(' ')}\n`);
      this.logOffset = fs.fstatSync(logFd).size;
      stdio = ['ignore', logFd, logFd];
    }
    try {
      // Own process group: a Ctrl-C in the terminal reaches only us, so a caller that handles SIGINT can
      // stop its workers before the services they use (which we still end on exit; see above).
      this.child = spawn(spec.command, spec.args, { cwd: spec.cwd, uid: spec.uid, gid: spec.gid, stdio, detached: true });
    } finally {
      // The child holds its own copy of the descriptor.
      if (logFd !== undefined) fs.closeSync(logFd);
    }
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.exitDescription ??= `could not be started: ${error.message}`;
        this.forget();
        resolve();
      });
      this.child.once('exit', (code, signal) => {
        this.exitDescription ??= signal ? `was killed by ${signal}` : `exited with code ${code}`;
        this.forget();
        resolve();
      });
    });
    if (this.child.pid !== undefined) {
      liveServices.add(this);
      installExitHooks();
      tellWatchdog(`+ ${this.child.pid} ${spec.emergencySignal}`);
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get logFile(): string | undefined {
    return this.spec.log === 'inherit' ? undefined : this.spec.log;
  }

  /** Set once the process has ended (or failed to spawn). */
  get exitReason(): string | undefined {
    return this.exitDescription;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.exitDescription !== undefined || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** Sends each stop signal in turn, waiting STOP_GRACE_MS after each, until the process has exited. */
  async stop(): Promise<void> {
    for (const signal of this.spec.stopSignals) {
      if (this.exitDescription !== undefined) break;
      this.signal(signal);
      if (await this.exitsWithin(STOP_GRACE_MS)) break;
    }
    if (this.exitDescription === undefined) this.signal('SIGKILL');
    await this.exited;
  }

  private async exitsWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const result = await Promise.race([this.exited.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  logTail(lines = 40): string {
    if (this.spec.log === 'inherit') return '(output went to this process\'s stdout/stderr)';
    try {
      const fd = fs.openSync(this.spec.log, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        const start = Math.max(this.logOffset, size - 64 * 1024);
        const buffer = Buffer.alloc(size - start);
        fs.readSync(fd, buffer, 0, buffer.length, start);
        return lastLines(buffer.toString('utf8'), lines);
      } finally {
        fs.closeSync(fd);
      }
    } catch (error) {
      return `(could not read ${this.spec.log}: ${errorMessage(error)})`;
    }
  }

  private forget(): void {
    if (!liveServices.delete(this)) return;
    if (this.child.pid !== undefined) tellWatchdog(`- ${this.child.pid}`);
  }
}

/**
 * Spawns a service and polls `probe` until it succeeds. If the process dies or the deadline passes, the
 * process is stopped and a ServiceStartError with its log tail is thrown.
 */
export async function startService(spec: ServiceSpec, probe: () => Promise<void>, timeoutMs: number): Promise<ServiceProcess> {
  const service = new ServiceProcess(spec);
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no attempt yet';
  for (;;) {
    if (service.exitReason !== undefined) {
      throw new ServiceStartError(`${spec.name} ${service.exitReason} before it was ready (log: ${service.logFile ?? 'inherited'})`, service.logTail());
    }
    try {
      // Racing the exit makes a crash (e.g. port taken) fail at once instead of after a probe timeout.
      await Promise.race([probe(), service.exited]);
      if (service.exitReason === undefined) return service;
    } catch (error) {
      lastError = errorMessage(error);
    }
    if (Date.now() > deadline) {
      await service.stop();
      throw new ServiceStartError(
        `${spec.name} not ready after ${Math.round(timeoutMs / 1000)} s (last check: ${lastError}; log: ${service.logFile ?? 'inherited'})`,
        service.logTail(),
      );
    }
    await sleep(150);
  }
}

/** With no port requested, picks a free one and retries a couple of times if someone takes it first. */
export async function onFreePort<T>(requested: number | undefined, start: (port: number) => Promise<T>): Promise<T> {
  if (requested) return start(requested);
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await findFreePort());
    } catch (error) {
      if (!(error instanceof ServiceStartError && error.portInUse) || attempt >= 3) throw error;
    }
  }
}

export function defaultLogFile(name: string, port: number): string {
  return path.join(os.tmpdir(), `durable-billing-${name}-${port}.log`);
}
