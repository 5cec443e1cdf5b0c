/**
 * The production entry points as real processes: `api/main.ts` and `worker/main.ts` start from env
 * config, serve, log JSON with request ids, and on SIGTERM finish in-flight work and exit 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { findFreePort } from '../scripts/services';
import { SERVICE_KEY, ADMIN_KEY, USER_TOKEN_SECRET, grantCredits, newUserId } from './support/stack';
import { createDatabase, type Database } from '../infra/database';

const ROOT = path.join(__dirname, '..');

interface Running {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

function start(entry: string, env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
  }
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

async function waitForLine(running: Running, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = running.lines.find((l) => pattern.test(l));
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no line matching ${pattern} in:\n${running.lines.join('\n')}`);
}

let db: Database;
let api: Running;
let worker: Running;
let baseUrl: string;

beforeAll(async () => {
  db = createDatabase(process.env.TEST_DATABASE_URL!, 2);
  const port = await findFreePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    DATABASE_URL: process.env.TEST_DATABASE_URL,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
    TEMPORAL_TASK_QUEUE: `processes-${port}`,
    PORT: String(port),
    SERVICE_API_KEYS: SERVICE_KEY,
    ADMIN_API_KEYS: ADMIN_KEY,
    USER_TOKEN_SECRET,
    WEBHOOK_SECRETS_KEY: Buffer.alloc(32, 'processes-test').toString('base64'),
    // The suite's database is shared by every test file; their relays hand over only their own events.
    EVENTS_RELAY_ENABLED: 'false',
  };
  // The worker gets no credentials: it does not need them.
  const { SERVICE_API_KEYS: _s, ADMIN_API_KEYS: _a, USER_TOKEN_SECRET: _u, PORT: _p, ...workerEnv } = env;
  worker = start('worker/main.ts', workerEnv);
  api = start('api/main.ts', env);
  await Promise.all([waitForLine(worker, /"msg":"worker started"/), waitForLine(api, /"msg":"api listening"/)]);
});

afterAll(async () => {
  for (const running of [api, worker]) if (running && running.child.exitCode === null) running.child.kill('SIGKILL');
  await db?.$disconnect();
});

it('serves a reservation end to end and logs JSON lines with the request id and the workflow id', async () => {
  const userId = newUserId();
  await grantCredits(db, userId, 5);
  const response = await fetch(`${baseUrl}/v1/internal/reservations`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${SERVICE_KEY}`,
      'content-type': 'application/json',
      'idempotency-key': `processes-${userId}`,
      'x-request-id': `req-${userId}`,
    },
    body: JSON.stringify({ userId, actionKey: 'ai_chat', quantity: 2 }),
  });
  expect(response.status).toBe(201);
  expect(response.headers.get('x-request-id')).toBe(`req-${userId}`);
  const logged = JSON.parse(await waitForLine(api, new RegExp(`"id":"req-${userId}"`)));
  const reservation = (await response.json()) as { id: string };
  expect(logged).toMatchObject({
    level: 30,
    component: 'api',
    workflowId: `reservation-${reservation.id}`,
    req: { id: `req-${userId}`, method: 'POST' },
    res: { statusCode: 201 },
  });
  expect(JSON.stringify(logged)).not.toContain(SERVICE_KEY); // the credential is redacted
});

/** Starts a request and sends its headers, holding back the body until `finish` is called. */
function halfSentRequest(body: string): Promise<{ finish: () => Promise<number> }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${baseUrl}/v1/internal/credits/check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SERVICE_KEY}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    const status = new Promise<number>((done, fail) => {
      request.on('response', (response) => {
        response.resume();
        done(response.statusCode ?? 0);
      });
      request.on('error', fail);
    });
    request.on('error', reject);
    request.flushHeaders();
    request.on('socket', (socket) =>
      socket.on('connect', () =>
        resolve({
          finish: () => {
            request.end(body);
            return status;
          },
        }),
      ),
    );
  });
}

it('stops both processes gracefully on SIGTERM, finishing in-flight requests', async () => {
  const inFlight = await halfSentRequest(JSON.stringify({ userId: newUserId(), actionKey: 'ai_chat' }));
  await new Promise((resolve) => setTimeout(resolve, 200)); // the server has read the headers
  api.child.kill('SIGTERM');
  worker.child.kill('SIGTERM');
  await waitForLine(api, /"msg":"api shutting down"/);
  expect(await inFlight.finish()).toBe(200);
  expect(await api.exited).toBe(0);
  expect(await worker.exited).toBe(0);
  await waitForLine(api, /"msg":"api stopped"/);
  await waitForLine(worker, /"msg":"worker stopped"/);
});
