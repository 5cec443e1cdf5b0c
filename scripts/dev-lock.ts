/**
 * One `npm run dev` per checkout, and a clear answer to a second one: a lock file in the dev state folder
 * names the running one's process and the ports it listens on, so a second run says "already running,
 * here, stop it like this" instead of failing on the first port it finds taken. A lock left by a run that
 * crashed (its process gone, or its pid reused by another program) does not block the next run.
 * Ports held by other programs (another checkout's dev, anything else) are found before anything starts.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** A port `npm run dev` listens on, and the variable that moves it. */
export interface DevEndpoint {
  name: string;
  port: number;
  variable: string;
  /** What to open or connect to, when it is not just host:port. */
  url?: string;
}

/** What the lock file says. */
export interface DevLockHolder {
  pid: number;
  /** The holder process's start time (Linux: /proc/<pid>/stat), to tell it from a later process given the same pid. */
  processStart?: string;
  startedAt: string;
  endpoints: DevEndpoint[];
}

export class DevAlreadyRunningError extends Error {
  constructor(
    readonly holder: DevLockHolder,
    readonly lockFile: string,
  ) {
    super(describeRunningDev(holder, lockFile));
    this.name = 'DevAlreadyRunningError';
  }
}

export interface DevLock {
  readonly file: string;
  /** Removes the lock file if it is still ours (also done on exit). */
  release(): void;
}

/** What the system says of process `pid` (Linux: /proc/<pid>/stat), or undefined where it does not tell. */
function processStat(pid: number): { state: string; start: string } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields 3 (state) and 22 (start time in clock ticks since boot); the command name (field 2, in
    // parentheses) may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, start: fields[19]! };
  } catch {
    return undefined;
  }
}

/** The start time of process `pid`, where the system tells it (Linux); else undefined. */
export function processStartTime(pid: number): string | undefined {
  return processStat(pid)?.start;
}

/**
 * Whether the process the lock names still runs: the pid exists, is not a zombie (a crashed run its parent
 * has not reaped yet) and, where we can tell, is the same process and not a later one given the same pid.
 */
export function holderIsRunning(holder: DevLockHolder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false; // ESRCH: gone
  }
  const stat = processStat(holder.pid);
  if (stat === undefined) return true;
  return stat.state !== 'Z' && stat.state !== 'X' && (holder.processStart === undefined || stat.start === holder.processStart);
}

function readHolder(file: string): DevLockHolder | undefined {
  try {
    const holder = JSON.parse(fs.readFileSync(file, 'utf8')) as DevLockHolder;
    return Number.isInteger(holder.pid) && holder.pid > 0 ? holder : undefined;
  } catch {
    return undefined; // unreadable or not ours: stale
  }
}

function inode(file: string): number | undefined {
  try {
    return fs.statSync(file).ino;
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock at `file` for this process, or throws DevAlreadyRunningError naming the run that holds it.
 * The file appears complete or not at all (written aside, then hard-linked into place, which fails if it
 * exists), so a reader never sees a half-written lock.
 */
export function acquireDevLock(file: string, endpoints: DevEndpoint[]): DevLock {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const holder: DevLockHolder = { pid: process.pid, startedAt: new Date().toISOString(), endpoints };
  const start = processStartTime(process.pid);
  if (start !== undefined) holder.processStart = start;
  const draft = `${file}.${process.pid}.draft`;
  fs.writeFileSync(draft, `${JSON.stringify(holder, null, 2)}\n`);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        fs.linkSync(draft, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw error;
      }
      const found = inode(file);
      const current = readHolder(file);
      if (current && holderIsRunning(current)) throw new DevAlreadyRunningError(current, file);
      // Stale: remove it, unless another run replaced it meanwhile (then look again).
      if (found !== undefined && inode(file) === found) fs.rmSync(file, { force: true });
    }
  } finally {
    fs.rmSync(draft, { force: true });
  }
  const release = () => {
    if (readHolder(file)?.pid === process.pid) fs.rmSync(file, { force: true });
  };
  process.once('exit', release);
  return { file, release };
}

function endpointLine(endpoint: DevEndpoint): string {
  const where = endpoint.port === 0 ? 'a free port (see its output)' : (endpoint.url ?? `127.0.0.1:${endpoint.port}`);
  return `  ${endpoint.name.padEnd(16)} ${where}`;
}

/** The answer to a second `npm run dev`: which one runs, where, and how to stop it. */
export function describeRunningDev(holder: DevLockHolder, lockFile: string): string {
  return [
    `npm run dev is already running in this checkout (pid ${holder.pid}, since ${holder.startedAt}; lock ${lockFile}):`,
    ...holder.endpoints.map(endpointLine),
    `Use that one, or stop it first: Ctrl-C in its terminal, or kill ${holder.pid}.`,
  ].join('\n');
}

/** Whether something already listens on 127.0.0.1:`port` (binding it fails with EADDRINUSE). */
export function portIsTaken(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(true) : reject(error)));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
}

/** The endpoints whose port another program holds (port 0 means "any free one" and is never taken). */
export async function takenEndpoints(endpoints: DevEndpoint[]): Promise<DevEndpoint[]> {
  const taken = await Promise.all(endpoints.map(async (endpoint) => endpoint.port !== 0 && (await portIsTaken(endpoint.port))));
  return endpoints.filter((_, index) => taken[index]);
}

/** The answer when ports are taken by something other than this checkout's dev. */
export function describeTakenPorts(taken: DevEndpoint[]): string {
  return [
    'cannot start: these ports are already in use by another program (another checkout\'s npm run dev, or something else):',
    ...taken.map((endpoint) => `  ${endpoint.name.padEnd(16)} port ${endpoint.port} (${endpoint.variable})`),
    `Stop that program, or move this run: e.g. ${taken.map((endpoint) => `${endpoint.variable}=<free port>`).join(' ')} npm run dev`,
  ].join('\n');
}
