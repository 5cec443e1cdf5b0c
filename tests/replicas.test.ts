/**
 * More than one replica (docs/operations.md, "Scaling out"): two API processes and two workers, the
 * compiled programs as production runs them, against one Temporal task queue and one PostgreSQL, and a
 * throwaway Redis the APIs share their rate-limit counts in. Load spread over both APIs; one API and
 * one worker killed outright (SIGKILL) mid-load. Nothing may be lost or done twice, and every caller
 * gets an answer.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { findFreePort, startProcess, startRedis, type LocalRedis, type ManagedProcess } from '../scripts/services';
import { run } from '../scripts/services/commands';
import { SERVICE_KEY, ADMIN_KEY, USER_TOKEN_SECRET, balances, expectLedgerInvariant, grantCredits, newUserId, userToken } from './support/stack';
import { createDatabase, type Database } from '../platform/database';
import { writeWorkflowBundle } from '../worker/workflow-bundle';
import { ConfigError, loadConfig } from '../modules/config';

const ROOT = path.join(__dirname, '..');
const USER_LIMIT = 5;

interface Running {
  name: string;
  process: ManagedProcess;
  lines: string[];
  baseUrl?: string;
}

async function waitForLine(running: Running, pattern: RegExp, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (running.lines.some((line) => pattern.test(line))) return;
    if (running.process.exitReason !== undefined) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no line matching ${pattern} from ${running.name} (${running.process.exitReason ?? 'running'}):\n${running.lines.join('\n')}`);
}

let db: Database;
let buildDir: string;
let redis: LocalRedis;
const apis: Running[] = [];
const workers: Running[] = [];

beforeAll(async () => {
  db = createDatabase(process.env.TEST_DATABASE_URL!, 4);
  fs.mkdirSync(path.join(ROOT, '.data'), { recursive: true });
  buildDir = fs.mkdtempSync(path.join(ROOT, '.data', 'test-build-'));
  const [build] = await Promise.all([
    run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', buildDir, '--noCheck'], { cwd: ROOT }),
    startRedis().then((started) => (redis = started)),
  ]);
  if (build.code !== 0) throw new Error(`build failed:\n${build.output}`);
  await writeWorkflowBundle(path.join(buildDir, 'workflows', 'index.js'));

  const common = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    DATABASE_URL: process.env.TEST_DATABASE_URL,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
    TEMPORAL_TASK_QUEUE: `replicas-${randomUUID()}`,
    STRIPE_SECRET_KEY: 'sk_test_replicasTest',
    STRIPE_WEBHOOK_SECRET: 'whsec_replicas_test',
    WEBHOOK_SECRETS_KEY: Buffer.alloc(32, 'replicas-test').toString('base64'),
    EVENTS_RELAY_ENABLED: 'false',
  };
  for (const index of [1, 2]) {
    const lines: string[] = [];
    const name = `worker ${index}`;
    const child = startProcess({ name, command: process.execPath, args: [path.join(buildDir, 'worker', 'main.js')], cwd: ROOT, env: common, log: (line) => lines.push(line) });
    workers.push({ name, process: child, lines });
  }
  for (const index of [1, 2]) {
    const port = await findFreePort();
    const lines: string[] = [];
    const name = `api ${index}`;
    const env = {
      ...common,
      PORT: String(port),
      SERVICE_API_KEYS: SERVICE_KEY,
      ADMIN_API_KEYS: ADMIN_KEY,
      USER_TOKEN_SECRET,
      RATE_LIMIT_REDIS_URL: redis.url,
      RATE_LIMIT_SERVICE: '0', // the load below is not throttled; the user limit is the one under test
      RATE_LIMIT_USER: String(USER_LIMIT),
    };
    const child = startProcess({ name, command: process.execPath, args: [path.join(buildDir, 'api', 'main.js')], cwd: ROOT, env, log: (line) => lines.push(line) });
    apis.push({ name, process: child, lines, baseUrl: `http://127.0.0.1:${port}` });
  }
  await Promise.all([...workers.map((w) => waitForLine(w, /"msg":"worker started"/)), ...apis.map((a) => waitForLine(a, /"msg":"api listening"/))]);
}, 240_000);

afterAll(async () => {
  await Promise.all([...apis, ...workers].map((running) => running.process.stop()));
  await redis?.stop();
  await db?.$disconnect();
  if (buildDir) fs.rmSync(buildDir, { recursive: true, force: true });
});

it('holds one per-user rate limit across both APIs (counted in the shared Redis)', async () => {
  const token = await userToken(newUserId('limited'));
  const statuses: number[] = [];
  for (let i = 0; i < USER_LIMIT + 3; i++) {
    const api = apis[i % 2]!;
    const response = await fetch(`${api.baseUrl}/v1/me/credits`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) });
    await response.arrayBuffer();
    statuses.push(response.status);
  }
  // Each API alone saw at most USER_LIMIT requests: only a shared count refuses the ones past the limit.
  expect(statuses.slice(0, USER_LIMIT)).toEqual(Array(USER_LIMIT).fill(200));
  expect(statuses.slice(USER_LIMIT)).toEqual([429, 429, 429]);
});

interface Operation {
  kind: 'deduct' | 'reserve' | 'commit';
  path: string;
  body: Record<string, unknown>;
  key: string;
}

interface Answer {
  status: number;
  body: { id?: string } & Record<string, unknown>;
  attempts: number;
}

/** The id an answer names: a deduct's consumption, a reservation, a commit's consumption. */
function answeredId(operation: Operation, answer: Answer): string | undefined {
  if (operation.kind === 'commit') return (answer.body.consumption as { id?: string } | undefined)?.id;
  return answer.body.id;
}

const CALL_TIMEOUT_MS = 60_000;
/** Requests each API is answering now: the kill waits until the API it kills has some. */
const inFlight = [0, 0];
const MAX_ATTEMPTS = 20;

/**
 * Sends an operation to `preferred`; after a connection error, a timeout or a 5xx (a killed API, a
 * worker gone), sends it again, with the same idempotency key, to the next API still alive. Every call
 * is bounded, so every caller gets an answer or the test fails naming it.
 */
async function send(operation: Operation, preferred: number): Promise<Answer> {
  let lastError = '';
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const alive = apis.filter((api) => api.process.exitReason === undefined);
    const api = alive[(preferred + attempt - 1) % alive.length]!;
    const apiIndex = apis.indexOf(api);
    inFlight[apiIndex]!++;
    try {
      const response = await fetch(`${api.baseUrl}${operation.path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SERVICE_KEY}`, 'content-type': 'application/json', 'idempotency-key': operation.key },
        body: JSON.stringify(operation.body),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
      const body = (await response.json()) as Answer['body'];
      if (response.status < 500) return { status: response.status, body, attempts: attempt };
      lastError = `HTTP ${response.status} ${JSON.stringify(body)}`;
    } catch (error) {
      lastError = String(error);
    } finally {
      inFlight[apiIndex]!--;
    }
  }
  throw new Error(`${operation.kind} ${operation.key} got no answer in ${MAX_ATTEMPTS} attempts: ${lastError}`);
}

it('loses and doubles nothing when one API and one worker are killed mid-load, and answers every caller', async () => {
  const users = Array.from({ length: 4 }, () => newUserId('replica'));
  for (const user of users) await grantCredits(db, user, 1_000);
  const OPERATIONS = 48;
  const KILL_AFTER = 12;
  let answered = 0;
  let killed: Promise<void> | undefined;
  const killOneOfEach = () => {
    apis[1]!.process.signal('SIGKILL');
    workers[1]!.process.signal('SIGKILL');
    killed = Promise.all([apis[1]!.process.exited, workers[1]!.process.exited]).then(() => undefined);
  };

  /** One user-visible piece of work: a deduct, or a reservation and its commit. */
  const work = async (index: number) => {
    const userId = users[index % users.length]!;
    const quantity = 1 + (index % 3);
    if (index % 2 === 0) {
      const deduct: Operation = { kind: 'deduct', path: '/v1/internal/credits/deduct', body: { userId, actionKey: 'ai_chat', quantity }, key: `deduct-${randomUUID()}` };
      const answer = await send(deduct, index);
      return [{ operation: deduct, answer, userId, quantity }];
    }
    const reserve: Operation = { kind: 'reserve', path: '/v1/internal/reservations', body: { userId, actionKey: 'ai_chat', quantity }, key: `reserve-${randomUUID()}` };
    const reserved = await send(reserve, index);
    if (reserved.status !== 201) return [{ operation: reserve, answer: reserved, userId, quantity }];
    const commit: Operation = { kind: 'commit', path: `/v1/internal/reservations/${reserved.body.id}/commit`, body: {}, key: `commit-${randomUUID()}` };
    const committed = await send(commit, index + 1);
    return [
      { operation: reserve, answer: reserved, userId, quantity },
      { operation: commit, answer: committed, userId, quantity },
    ];
  };

  // Eight callers at a time; the kill comes once KILL_AFTER pieces of work have been answered and the API it
  // kills is in the middle of answering some (conditions, not a delay).
  const results: Awaited<ReturnType<typeof work>>[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < OPERATIONS) {
        const index = next++;
        results[index] = await work(index);
        answered++;
        if (!killed && answered >= KILL_AFTER && inFlight[1]! > 0) killOneOfEach();
      }
    }),
  );
  await killed;
  expect(apis[1]!.process.exitReason).toBeDefined();
  expect(workers[1]!.process.exitReason).toBeDefined();

  const calls = results.flat();
  // Every caller was answered, with success: credits were plenty, and a retry after a lost connection
  // completes what the first attempt started (or did) rather than failing.
  expect(calls.filter((call) => call.answer.status >= 300).map((call) => `${call.operation.kind} ${call.answer.status} ${JSON.stringify(call.answer.body)}`)).toEqual([]);
  expect(calls.some((call) => call.answer.attempts > 1)).toBe(true); // the kill did interrupt some calls

  // Each 2xx answer's effect exactly once: one consumption per deduct and per commit, each answered id distinct.
  for (const userId of users) {
    const mine = calls.filter((call) => call.userId === userId && call.operation.kind !== 'reserve');
    const consumptions = await db.consumptionRecord.findMany({ where: { userId } });
    expect(consumptions.map((c) => c.id).sort()).toEqual(mine.map((call) => answeredId(call.operation, call.answer)).sort());
    const used = (await balances(db, userId)).reduce((sum, grant) => sum + grant.used, 0);
    expect(used).toBe(mine.reduce((sum, call) => sum + call.quantity, 0));
    const reserved = (await balances(db, userId)).reduce((sum, grant) => sum + grant.reserved, 0);
    expect(reserved).toBe(0);
    await expectLedgerInvariant(db, userId);
  }

  // The same requests again, same keys, to the surviving API: replayed answers, no new effect.
  const before = await Promise.all(users.map((userId) => balances(db, userId)));
  for (const call of calls) {
    const again = await send(call.operation, 0);
    expect(again.status).toBe(call.answer.status);
    expect(answeredId(call.operation, again)).toBe(answeredId(call.operation, call.answer));
    expect(answeredId(call.operation, again)).toBeDefined();
  }
  expect(await Promise.all(users.map((userId) => balances(db, userId)))).toEqual(before);
}, 300_000);

describe('RATE_LIMIT_REDIS_URL', () => {
  const validEnv = {
    DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/durable_billing',
    TEMPORAL_ADDRESS: '127.0.0.1:7233',
    SERVICE_API_KEYS: SERVICE_KEY,
    ADMIN_API_KEYS: ADMIN_KEY,
    USER_TOKEN_SECRET,
  };

  it.each(['http://127.0.0.1:6379', '127.0.0.1:6379', 'redis'])('refuses %s with a ConfigError naming it', (url) => {
    expect(() => loadConfig({ ...validEnv, RATE_LIMIT_REDIS_URL: url })).toThrow(ConfigError);
    expect(() => loadConfig({ ...validEnv, RATE_LIMIT_REDIS_URL: url })).toThrow(/RATE_LIMIT_REDIS_URL/);
  });

  it.each(['redis://127.0.0.1:6379', 'rediss://:secret@redis.internal:6380/2'])('accepts %s', (url) => {
    expect(loadConfig({ ...validEnv, RATE_LIMIT_REDIS_URL: url }).RATE_LIMIT_REDIS_URL).toBe(url);
  });

  it('stops the API with exit code 1 naming RATE_LIMIT_REDIS_URL (without its password) when nothing answers there', async () => {
    const url = `redis://:hunter2-secret@127.0.0.1:${await findFreePort()}`;
    const lines: string[] = [];
    const child = startProcess({
      name: 'api without its redis',
      command: process.execPath,
      args: [path.join(buildDir, 'api', 'main.js')],
      cwd: ROOT,
      env: {
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
        PORT: '0',
        RATE_LIMIT_REDIS_URL: url,
      },
      log: (line) => lines.push(line),
    });
    if (!(await child.exitsWithin(60_000))) await child.stop();
    expect(child.exitCode).toBe(1);
    const fatal = lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => Number(entry.level) >= 50);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ component: 'api', variable: 'RATE_LIMIT_REDIS_URL' });
    expect(lines.join('\n')).not.toContain('hunter2-secret');
    expect(lines.join('\n')).not.toContain('api listening');
  });
});
