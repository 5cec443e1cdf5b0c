/**
 * A program that cannot start says why and fails: the API and the worker, run as real processes, exit
 * non-zero with one JSON log line naming the variable to fix (the port another program holds, the database
 * or Temporal server that does not answer) and never log that they are listening or started.
 */
import net from 'node:net';
import path from 'node:path';
import { findFreePort, startProcess } from '../scripts/services';
import { ConfigError, loadConfig } from '../modules/config';
import { ADMIN_KEY, SERVICE_KEY, USER_TOKEN_SECRET } from './support/stack';

const ROOT = path.join(__dirname, '..');
/** A start failure is logged at fatal (60): at or above error level. */
const ERROR_LEVEL = 50;

interface Ended {
  code: number | null;
  lines: string[];
}

/** A bound for a program that should end by itself, generous for a loaded machine; one that is still
 * running then has started when it should not (it is stopped, and its exit code is not 1). */
const SHOULD_HAVE_ENDED_MS = 60_000;

/** Runs a program from its TypeScript source until it ends by itself (each case here should make it end). */
async function runToEnd(entry: string, env: NodeJS.ProcessEnv): Promise<Ended> {
  const lines: string[] = [];
  const child = startProcess({ name: entry, command: process.execPath, args: ['--import', 'tsx', entry], cwd: ROOT, env, log: (line) => lines.push(line) });
  if (!(await child.exitsWithin(SHOULD_HAVE_ENDED_MS))) {
    await child.stop();
    lines.push(`(still running after ${SHOULD_HAVE_ENDED_MS} ms: stopped)`);
  }
  return { code: child.exitCode, lines };
}

/** The program's JSON log lines at error level or above. */
function errorLines(ended: Ended): Array<Record<string, unknown>> {
  return ended.lines
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => Number(entry.level) >= ERROR_LEVEL);
}

function baseEnv(overrides: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LOG_LEVEL: 'info',
    DATABASE_URL: process.env.TEST_DATABASE_URL,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
    SERVICE_API_KEYS: SERVICE_KEY,
    ADMIN_API_KEYS: ADMIN_KEY,
    USER_TOKEN_SECRET,
    EVENTS_RELAY_ENABLED: 'false',
    SCHEDULES_ENABLED: 'false',
    ...overrides,
  };
}

/** Holds a loopback port the way another program would, for one test. */
async function holdPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const { port } = holder.address() as net.AddressInfo;
  return { port, release: () => new Promise((resolve) => holder.close(() => resolve())) };
}

describe('a port another program holds', () => {
  it('stops the API with exit code 1 and one error line naming the port, PORT and the cause', async () => {
    const taken = await holdPort();
    try {
      const ended = await runToEnd('api/main.ts', baseEnv({ PORT: String(taken.port) }));
      expect(ended.code).toBe(1);
      const errors = errorLines(ended);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ component: 'api', port: taken.port, variable: 'PORT', cause: expect.stringContaining('EADDRINUSE') });
      expect(errors[0]!.msg).toContain(`port ${taken.port}`);
      expect(ended.lines.join('\n')).not.toContain('api listening');
    } finally {
      await taken.release();
    }
  });

  it("stops the worker with exit code 1 when its metrics port (WORKER_METRICS_PORT) is taken", async () => {
    const taken = await holdPort();
    try {
      const ended = await runToEnd('worker/main.ts', baseEnv({ WORKER_METRICS_PORT: String(taken.port), TEMPORAL_TASK_QUEUE: `startup-${taken.port}` }));
      expect(ended.code).toBe(1);
      const errors = errorLines(ended);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ component: 'worker', port: taken.port, variable: 'WORKER_METRICS_PORT', cause: expect.stringContaining('EADDRINUSE') });
      expect(errors[0]!.msg).toContain(`port ${taken.port}`);
      expect(ended.lines.join('\n')).not.toContain('worker started');
    } finally {
      await taken.release();
    }
  });
});

describe('a database DATABASE_URL points at that does not answer', () => {
  const cases = [
    ['a host that does not resolve', async () => 'postgresql://billing:secret-password@no-such-host.invalid:5432/billing'],
    ['a port nothing listens on', async () => `postgresql://billing:secret-password@127.0.0.1:${await findFreePort()}/billing`],
    ['a database that does not exist', async () => {
      const url = new URL(process.env.TEST_DATABASE_URL!);
      url.pathname = '/no_such_database';
      return url.toString();
    }],
  ] as const;

  it.each(cases)('stops the API with exit code 1 naming DATABASE_URL: %s', async (_what, databaseUrl) => {
    const url = await databaseUrl();
    const ended = await runToEnd('api/main.ts', baseEnv({ DATABASE_URL: url, PORT: '0' }));
    expect(ended.code).toBe(1);
    const errors = errorLines(ended);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ component: 'api', variable: 'DATABASE_URL' });
    expect(errors[0]!.msg).toMatch(/DATABASE_URL/);
    expect(ended.lines.join('\n')).not.toContain('secret-password'); // the password stays out of the log
    expect(ended.lines.join('\n')).not.toContain('api listening');
  });

  it('stops the worker with exit code 1 naming DATABASE_URL', async () => {
    const ended = await runToEnd('worker/main.ts', baseEnv({ DATABASE_URL: `postgresql://billing@127.0.0.1:${await findFreePort()}/billing` }));
    expect(ended.code).toBe(1);
    const errors = errorLines(ended);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ component: 'worker', variable: 'DATABASE_URL' });
    expect(ended.lines.join('\n')).not.toContain('worker started');
  });
});

describe('TEMPORAL_ADDRESS', () => {
  const VALID_ENV = baseEnv({});

  it.each(['http://127.0.0.1:7233', '127.0.0.1:99999', 'temporal:port', '127.0.0.1:7233/default'])('refuses %s with a ConfigError naming it', (address) => {
    expect(() => loadConfig({ ...VALID_ENV, TEMPORAL_ADDRESS: address })).toThrow(ConfigError);
    expect(() => loadConfig({ ...VALID_ENV, TEMPORAL_ADDRESS: address })).toThrow(/^ {2}TEMPORAL_ADDRESS: must be host:port/m);
  });

  it.each(['temporal:7233', 'temporal', '[::1]:7233', 'billing.a1b2c.tmprl.cloud:7233'])('accepts %s', (address) => {
    expect(loadConfig({ ...VALID_ENV, TEMPORAL_ADDRESS: address }).TEMPORAL_ADDRESS).toBe(address);
  });

  it('stops the API with exit code 1 naming TEMPORAL_ADDRESS when nothing answers there', async () => {
    const address = `127.0.0.1:${await findFreePort()}`;
    const ended = await runToEnd('api/main.ts', baseEnv({ TEMPORAL_ADDRESS: address, PORT: '0' }));
    expect(ended.code).toBe(1);
    const errors = errorLines(ended);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ component: 'api', variable: 'TEMPORAL_ADDRESS', address });
    expect(errors[0]!.msg).toContain(`TEMPORAL_ADDRESS=${address}`);
  });
});

it('logs the port it got when PORT=0 asks for any free one', async () => {
  const lines: string[] = [];
  const api = startProcess({ name: 'api', command: process.execPath, args: ['--import', 'tsx', 'api/main.ts'], cwd: ROOT, env: baseEnv({ PORT: '0' }), log: (line) => lines.push(line) });
  try {
    const listening = await waitForLine(lines, /"msg":"api listening"/, () => api.exitReason);
    const { url } = JSON.parse(listening) as { url: string };
    expect(url).not.toMatch(/:0$/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  } finally {
    await api.stop();
  }
});

async function waitForLine(lines: string[], pattern: RegExp, ended: () => string | undefined): Promise<string> {
  for (;;) {
    const line = lines.find((l) => pattern.test(l));
    if (line) return line;
    if (ended() !== undefined) throw new Error(`ended (${ended()}) without a line matching ${pattern}:\n${lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
