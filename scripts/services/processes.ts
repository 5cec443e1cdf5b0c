/**
 * The one child-process manager of the project: the local services (PostgreSQL, Temporal, stripe-mock),
 * the API and worker that `npm run dev` and `npm run bench` run, and the real processes the tests start.
 * Rules every start function follows:
 * - binds to 127.0.0.1 only; port 0/undefined means "pick a free one";
 * - returns only once the service answers real requests, not merely once the process is up;
 * - sends the child's output to a log file, this process's stdio, or a line callback, and puts the log's
 *   tail into any start error, so a failure is never silent;
 * - no child outlives this process: stopped on exit and on unhandled SIGINT/SIGTERM/SIGHUP, and by a
 *   tiny watchdog process when this one is killed outright (SIGKILL, OOM). Each child leads its own process
 *   group, and the last-resort kills go to the whole group, so a wrapper's children (npm -> node) go too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { errorMessage, lastLines } from './commands';

export const LOOPBACK = '127.0.0.1';
export const DEFAULT_READY_TIMEOUT_MS = 30_000;
const DEFAULT_STOP_GRACE_MS = 5_000;
/** Lines kept for error messages when the output goes to a callback. */
const RECENT_LINES = 200;

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

/** Sends a signal to a child's whole process group (it leads one), else to the child alone. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/**
 * The watchdog: a separate Node process whose stdin is a pipe from us. The pipe closes however we die —
 * including SIGKILL, where no exit handler runs — and the watchdog then terminates every child still
 * registered (its process group). It runs in its own session so a Ctrl-C to our process group does not
 * take it down first.
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
const kill = (pid, signal) => { try { process.kill(-pid, signal); } catch { try { process.kill(pid, signal); } catch {} } };
process.stdin.on('close', () => {
  for (const [pid, signal] of children) kill(pid, signal);
  const deadline = Date.now() + ${DEFAULT_STOP_GRACE_MS};
  const poll = setInterval(() => {
    const left = [...children.keys()].filter(alive);
    if (left.length === 0) process.exit(0);
    if (Date.now() > deadline) {
      for (const pid of left) kill(pid, 'SIGKILL');
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

const liveProcesses = new Set<ManagedProcess>();
let exitHooksInstalled = false;

function killAllNow(): void {
  for (const child of liveProcesses) child.emergencyStop();
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

/** Where a child's stdout/stderr go: a file (appended to), this process's own stdio, or a callback that
 * gets each line (stdout and stderr alike). */
export type LogDestination = string | 'inherit' | ((line: string) => void);

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  log: LogDestination;
  cwd?: string;
  /** Default: this process's environment. */
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  /** First the graceful stop signal, then escalations, each after `stopGraceMs`; then SIGKILL. Default SIGTERM. */
  stopSignals?: NodeJS.Signals[];
  /** How long each stop signal is given. Default 5 s. */
  stopGraceMs?: number;
  /** Sent (to the process group) when we exit without stop(); must end it promptly. Default SIGKILL. */
  emergencySignal?: NodeJS.Signals;
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

/** A child process started with startProcess()/startService(). */
export class ManagedProcess {
  /** Resolves once the process has ended (or failed to spawn). */
  readonly exited: Promise<void>;
  private exitDescription: string | undefined;
  private code: number | null = null;
  private readonly child: ChildProcess;
  private readonly logOffset: number;
  private readonly recent: string[] = [];

  constructor(private readonly spec: ProcessSpec) {
    let stdio: 'inherit' | ['ignore', number | 'pipe', number | 'pipe'] = 'inherit';
    let logFd: number | undefined;
    this.logOffset = 0;
    if (typeof spec.log === 'function') {
      stdio = ['ignore', 'pipe', 'pipe'];
    } else if (spec.log !== 'inherit') {
      fs.mkdirSync(path.dirname(spec.log), { recursive: true });
      logFd = fs.openSync(spec.log, 'a');
      fs.writeSync(logFd, `\n=== ${new Date().toISOString()} starting ${spec.name}: ${spec.command} ${spec.args.join(' ')}\n`);
      this.logOffset = fs.fstatSync(logFd).size;
      stdio = ['ignore', logFd, logFd];
    }
    try {
      // Own process group: a Ctrl-C in the terminal reaches only us, so a caller that handles SIGINT can
      // stop its workers before the services they use (which we still end on exit; see above).
      this.child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: spec.env ?? process.env,
        uid: spec.uid,
        gid: spec.gid,
        stdio,
        detached: true,
      });
    } finally {
      // The child holds its own copy of the descriptor.
      if (logFd !== undefined) fs.closeSync(logFd);
    }
    const sink = spec.log;
    if (typeof sink === 'function') {
      for (const stream of [this.child.stdout, this.child.stderr]) {
        if (!stream) continue;
        readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
          this.recent.push(line);
          if (this.recent.length > RECENT_LINES) this.recent.shift();
          sink(line);
        });
      }
    }
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.exitDescription ??= `could not be started: ${error.message}`;
        this.forget();
        resolve();
      });
      this.child.once('exit', (code, signal) => {
        this.code = code;
        this.exitDescription ??= signal ? `was killed by ${signal}` : `exited with code ${code}`;
        this.forget();
        resolve();
      });
    });
    if (this.child.pid !== undefined) {
      liveProcesses.add(this);
      installExitHooks();
      tellWatchdog(`+ ${this.child.pid} ${this.emergencySignal}`);
    }
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get logFile(): string | undefined {
    return typeof this.spec.log === 'string' && this.spec.log !== 'inherit' ? this.spec.log : undefined;
  }

  /** Set once the process has ended (or failed to spawn). */
  get exitReason(): string | undefined {
    return this.exitDescription;
  }

  /** The exit code once it has exited on its own terms (null while running, or when killed by a signal). */
  get exitCode(): number | null {
    return this.code;
  }

  private get emergencySignal(): NodeJS.Signals {
    return this.spec.emergencySignal ?? 'SIGKILL';
  }

  /** Throws (with the log tail) if the process has ended. */
  assertRunning(): void {
    if (this.exitDescription !== undefined) {
      throw new Error(`${this.spec.name} ${this.exitDescription}:\n${this.logTail()}`);
    }
  }

  /** Sends a signal to the process itself (not its group): a wrapper such as npm passes it on. */
  signal(signal: NodeJS.Signals): void {
    if (this.exitDescription !== undefined || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** Ends the process and whatever it started, now, without waiting (exit hooks, failed starts). */
  emergencyStop(): void {
    if (this.exitDescription !== undefined || this.child.pid === undefined) return;
    signalGroup(this.child.pid, this.emergencySignal);
  }

  /** Sends each stop signal in turn, waiting `stopGraceMs` after each, until the process has exited;
   * then SIGKILL to its process group. Whatever it left behind in its group (a wrapper's child that missed
   * the signal) is killed too. */
  async stop(): Promise<void> {
    for (const signal of this.spec.stopSignals ?? ['SIGTERM']) {
      if (this.exitDescription !== undefined) break;
      this.signal(signal);
      if (await this.exitsWithin(this.spec.stopGraceMs ?? DEFAULT_STOP_GRACE_MS)) break;
    }
    if (this.exitDescription === undefined && this.child.pid !== undefined) signalGroup(this.child.pid, 'SIGKILL');
    await this.exited;
    if (this.child.pid !== undefined) {
      try {
        // The group only (no fallback to the pid, which may belong to another process by now); a group id
        // is not reused while any member lives.
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // No one left.
      }
    }
  }

  /** Whether the process exits within `ms`. */
  async exitsWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const result = await Promise.race([this.exited.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  logTail(lines = 40): string {
    if (typeof this.spec.log === 'function') return this.recent.slice(-lines).join('\n');
    if (this.spec.log === 'inherit') return "(output went to this process's stdout/stderr)";
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
    if (!liveProcesses.delete(this)) return;
    if (this.child.pid !== undefined) tellWatchdog(`- ${this.child.pid}`);
  }
}

/** Starts a child process under the rules above, without waiting for it to be ready. */
export function startProcess(spec: ProcessSpec): ManagedProcess {
  return new ManagedProcess(spec);
}

/**
 * Spawns a service and polls `probe` until it succeeds. If the process dies or the deadline passes, the
 * process is stopped and a ServiceStartError with its log tail is thrown.
 */
export async function startService(spec: ProcessSpec, probe: () => Promise<void>, timeoutMs: number): Promise<ManagedProcess> {
  const service = new ManagedProcess(spec);
  await waitUntilReady(service, probe, timeoutMs);
  return service;
}

/** Polls `probe` until it succeeds; if the process dies or the deadline passes, stops it and throws a
 * ServiceStartError with its log tail. (startService() is startProcess() and this.) */
export async function waitUntilReady(service: ManagedProcess, probe: () => Promise<void>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no attempt yet';
  for (;;) {
    if (service.exitReason !== undefined) {
      throw new ServiceStartError(`${service.name} ${service.exitReason} before it was ready (log: ${service.logFile ?? 'inherited'})`, service.logTail());
    }
    try {
      // Racing the exit makes a crash (e.g. port taken) fail at once instead of after a probe timeout.
      await Promise.race([probe(), service.exited]);
      if (service.exitReason === undefined) return;
    } catch (error) {
      lastError = errorMessage(error);
    }
    if (Date.now() > deadline) {
      await service.stop();
      throw new ServiceStartError(
        `${service.name} not ready after ${Math.round(timeoutMs / 1000)} s (last check: ${lastError}; log: ${service.logFile ?? 'inherited'})`,
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
