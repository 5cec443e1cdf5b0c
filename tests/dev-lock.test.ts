/**
 * One `npm run dev` per checkout: a second run says the first one is running, on which ports and how to
 * stop it (instead of failing on the first port it finds taken); a lock left by a run that crashed does not
 * block the next one; a port another program holds is named with the variable that moves it.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { findFreePort, startProcess, type ManagedProcess } from '../scripts/services';
import { acquireDevLock, DevAlreadyRunningError, processStartTime, type DevEndpoint, type DevLockHolder } from '../scripts/dev-lock';
import { waitFor } from './support/wait';

const ROOT = path.join(__dirname, '..');
/** Generous for a loaded machine: a run that is still going then did not stop when it should have. */
const SHOULD_HAVE_ENDED_MS = 60_000;

let dataDir: string;
beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-billing-dev-lock-'));
});
afterEach(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const lockFile = () => path.join(dataDir, 'dev.lock');

function readLock(): DevLockHolder | undefined {
  try {
    return JSON.parse(fs.readFileSync(lockFile(), 'utf8')) as DevLockHolder;
  } catch {
    return undefined;
  }
}

interface Run {
  process: ManagedProcess;
  lines: string[];
}

function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Run {
  const lines: string[] = [];
  return { process: startProcess({ name, command, args, cwd: ROOT, env, log: (line) => lines.push(line) }), lines };
}

/** Waits for a run that should end by itself; stops it if it does not. */
async function ended(run: Run): Promise<{ code: number | null; output: string }> {
  if (!(await run.process.exitsWithin(SHOULD_HAVE_ENDED_MS))) {
    await run.process.stop();
    run.lines.push(`(still running after ${SHOULD_HAVE_ENDED_MS} ms: stopped)`);
  }
  return { code: run.process.exitCode, output: run.lines.join('\n') };
}

describe('npm run dev, twice', () => {
  /**
   * A database that accepts connections and never answers: the first `npm run dev` waits there, in its
   * migration step, for as long as the test needs it running (it starts nothing that would touch the suite's
   * services), and it ends on SIGTERM like any run.
   */
  let silentDatabase: net.Server;
  const connections = new Set<net.Socket>();
  let devEnv: NodeJS.ProcessEnv;
  let apiPort: number;

  beforeEach(async () => {
    silentDatabase = net.createServer((socket) => {
      connections.add(socket);
      socket.on('close', () => connections.delete(socket));
    });
    await new Promise<void>((resolve) => silentDatabase.listen(0, '127.0.0.1', resolve));
    apiPort = await findFreePort();
    devEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DEV_DATA_DIR: dataDir,
      // Set, so dev starts none of these services (and listens on none of their ports) itself.
      DATABASE_URL: `postgresql://postgres@127.0.0.1:${(silentDatabase.address() as net.AddressInfo).port}/durable_billing`,
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      STRIPE_API_BASE: process.env.TEST_STRIPE_API_BASE,
      SMTP_URL: `smtp://127.0.0.1:${await findFreePort()}`,
      PORT: String(apiPort),
    };
  });
  afterEach(async () => {
    for (const socket of connections) socket.destroy();
    await new Promise((resolve) => silentDatabase.close(resolve));
  });

  it('the second run says the first is running, where, and how to stop it, and leaves it running', async () => {
    const first = start('first dev', 'npm', ['run', '--silent', 'dev'], devEnv);
    try {
      const holder = await waitFor(
        () => {
          first.process.assertRunning();
          return readLock();
        },
        60_000,
        'the first run to take the lock',
      );
      expect(holder.endpoints).toEqual([{ name: 'API', port: apiPort, variable: 'PORT', url: `http://127.0.0.1:${apiPort}` }]);

      const second = await ended(start('second dev', 'npm', ['run', '--silent', 'dev'], devEnv));
      expect(second.code).toBe(1);
      expect(second.output).toContain(`npm run dev is already running in this checkout (pid ${holder.pid}`);
      expect(second.output).toContain(`http://127.0.0.1:${apiPort}`);
      expect(second.output).toContain(`kill ${holder.pid}`);
      expect(second.output).not.toMatch(/EADDRINUSE|failed:/);

      expect(first.process.exitReason).toBeUndefined();
      expect(readLock()).toEqual(holder);
    } finally {
      await first.process.stop();
    }
    expect(first.process.exitCode).toBe(0);
    expect(fs.existsSync(lockFile())).toBe(false); // released on the way out
  });

  it('names a port another program holds, and the variable that moves it, before starting anything', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(apiPort, '127.0.0.1', resolve));
    try {
      const run = await ended(start('dev', 'npm', ['run', '--silent', 'dev'], devEnv));
      expect(run.code).toBe(1);
      expect(run.output).toMatch(new RegExp(`API +port ${apiPort} \\(PORT\\)`));
      expect(run.output).toContain('PORT=<free port> npm run dev');
      expect(connections.size).toBe(0); // it did not go on to the database
      expect(fs.existsSync(lockFile())).toBe(false); // and left no lock behind
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});

describe('the lock itself', () => {
  const endpoints: DevEndpoint[] = [{ name: 'API', port: 3000, variable: 'PORT', url: 'http://127.0.0.1:3000' }];

  /** Another process that takes the lock and keeps it until it is killed. */
  async function lockHolder(): Promise<Run> {
    const script = `const { acquireDevLock } = require('./scripts/dev-lock');
acquireDevLock(${JSON.stringify(lockFile())}, ${JSON.stringify(endpoints)});
console.log('locked');
setInterval(() => {}, 1 << 30);`;
    const holder = start('lock holder', process.execPath, ['--import', 'tsx', '-e', script], { PATH: process.env.PATH });
    await waitFor(
      () => {
        holder.process.assertRunning();
        return holder.lines.includes('locked');
      },
      60_000,
      'the holder to take the lock',
    );
    return holder;
  }

  it('refuses a second holder while the first runs, and passes to the next once the first has crashed', async () => {
    const holder = await lockHolder();
    try {
      let refusal: unknown;
      try {
        acquireDevLock(lockFile(), endpoints);
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(DevAlreadyRunningError);
      expect((refusal as DevAlreadyRunningError).holder).toMatchObject({ pid: holder.process.pid, endpoints });
    } finally {
      holder.process.emergencyStop(); // SIGKILL: no exit handler runs, the lock file stays behind
      await holder.process.exited;
    }
    expect(readLock()?.pid).toBe(holder.process.pid);

    const lock = acquireDevLock(lockFile(), endpoints);
    expect(readLock()).toMatchObject({ pid: process.pid, endpoints });
    lock.release();
    expect(fs.existsSync(lockFile())).toBe(false);
  });

  const onLinux = process.platform === 'linux' ? it : it.skip;
  onLinux('does not take a later process given the same pid for the holder', () => {
    // A lock naming a live pid (this one) with another start time: the run that wrote it is gone.
    const stale: DevLockHolder = { pid: process.pid, processStart: `${processStartTime(process.pid)}0`, startedAt: new Date(0).toISOString(), endpoints };
    fs.writeFileSync(lockFile(), JSON.stringify(stale));
    const lock = acquireDevLock(lockFile(), endpoints);
    expect(readLock()).toMatchObject({ pid: process.pid, processStart: processStartTime(process.pid) });
    lock.release();
  });

  it('takes over a lock file that is not a lock (empty, or garbage)', () => {
    fs.writeFileSync(lockFile(), '');
    acquireDevLock(lockFile(), endpoints).release();
    fs.writeFileSync(lockFile(), '{"pid":');
    acquireDevLock(lockFile(), endpoints).release();
    expect(fs.existsSync(lockFile())).toBe(false);
  });
});
