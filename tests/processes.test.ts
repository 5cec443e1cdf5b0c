/**
 * The production entry points as real processes, started the two ways they are run: the worker as
 * compiled JavaScript (`npm run build`, then `node dist/worker/main.js`, as the Docker image runs it), the
 * API through npm (`npm run api`). Both start from env config, serve, log JSON with request ids, and on
 * SIGTERM finish in-flight work and exit 0 — the API's signal sent to the npm process itself.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { findFreePort, startProcess, type ManagedProcess } from '../scripts/services';
import { run } from '../scripts/services/commands';
import { SERVICE_KEY, ADMIN_KEY, USER_TOKEN_SECRET, grantCredits, newUserId } from './support/stack';
import { createDatabase, type Database } from '../platform/database';
import { WORKFLOW_BUNDLE_FILE, writeWorkflowBundle } from '../worker/workflow-bundle';

const ROOT = path.join(__dirname, '..');

interface Running {
  process: ManagedProcess;
  lines: string[];
}

function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Running {
  const lines: string[] = [];
  const child = startProcess({ name, command, args, cwd: ROOT, env, log: (line) => lines.push(line) });
  return { process: child, lines };
}

async function waitForLine(running: Running, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = running.lines.find((l) => pattern.test(l));
    if (line) return line;
    if (running.process.exitReason !== undefined) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no line matching ${pattern} from ${running.process.name} (${running.process.exitReason ?? 'running'}):\n${running.lines.join('\n')}`);
}

let db: Database;
let api: Running;
let worker: Running;
let baseUrl: string;
let buildDir: string;
let workerBundle: string | undefined;

beforeAll(async () => {
  db = createDatabase(process.env.TEST_DATABASE_URL!, 2);
  // What `npm run build` does, into a throwaway dir (the checkout's dist/ is left alone) inside the checkout,
  // where the compiled files find node_modules as dist/ does.
  fs.mkdirSync(path.join(ROOT, '.data'), { recursive: true });
  buildDir = fs.mkdtempSync(path.join(ROOT, '.data', 'test-build-'));
  // --noCheck: the same JavaScript `npm run build` emits (isolatedModules), without type-checking again what
  // `npm test`'s `tsc --noEmit` has just checked: half the CPU.
  const build = await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', buildDir, '--noCheck'], { cwd: ROOT });
  if (build.code !== 0) throw new Error(`build failed:\n${build.output}`);
  // npm run build's last step: the workflow bundle beside the compiled workflows (the worker runs no webpack).
  await writeWorkflowBundle(path.join(buildDir, 'workflows', 'index.js'));

  const port = await findFreePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
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
    // Production refuses Stripe's development defaults (modules/config.ts).
    STRIPE_SECRET_KEY: 'sk_test_processesTest',
    STRIPE_WEBHOOK_SECRET: 'whsec_processes_test',
    // The suite's database is shared by every test file; their relays hand over only their own events.
    EVENTS_RELAY_ENABLED: 'false',
  };
  // The worker gets no credentials: it does not need them.
  const { SERVICE_API_KEYS: _s, ADMIN_API_KEYS: _a, USER_TOKEN_SECRET: _u, PORT: _p, ...workerEnv } = env;
  worker = start('worker (compiled)', process.execPath, [path.join(buildDir, 'worker', 'main.js')], workerEnv);
  api = start('npm run api', 'npm', ['run', '--silent', 'api'], env);
  const [workerStarted] = await Promise.all([waitForLine(worker, /"msg":"worker started"/), waitForLine(api, /"msg":"api listening"/)]);
  workerBundle = (JSON.parse(workerStarted) as { workflowBundle?: string }).workflowBundle;
});

afterAll(async () => {
  await Promise.all([api, worker].map((running) => running?.process.stop()));
  await db?.$disconnect();
  if (buildDir) fs.rmSync(buildDir, { recursive: true, force: true });
});

it('runs the worker from the compiled JavaScript alone', () => {
  // Workflows found in the build (worker/create-worker.ts resolves ../workflows), no TypeScript loader.
  expect(fs.existsSync(path.join(buildDir, 'workflows', 'index.js'))).toBe(true);
  expect(fs.readFileSync(`/proc/${worker.process.pid}/cmdline`, 'utf8').split('\0')).not.toContain('tsx');
  // The prebuilt workflow bundle, not webpack at start (worker/workflow-bundle.ts).
  expect(workerBundle).toBe(path.join(buildDir, 'workflows', WORKFLOW_BUNDLE_FILE));
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

/**
 * Starts a request and sends its headers, holding back the body until `finish` is called. Resolves once the
 * server has read the headers: it asks `Expect: 100-continue`, which Node's server answers when it has
 * parsed them (a request in progress, not an idle connection that a shutdown may close).
 */
function halfSentRequest(body: string): Promise<{ finish: () => Promise<number> }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${baseUrl}/v1/internal/credits/check`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${SERVICE_KEY}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        expect: '100-continue',
      },
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
    request.on('continue', () =>
      resolve({
        finish: () => {
          request.end(body);
          return status;
        },
      }),
    );
  });
}

it('stops both processes gracefully on SIGTERM (the API\'s sent to npm), finishing in-flight requests', async () => {
  // The API's process is npm itself: the signal has to get through npm to the program.
  expect(fs.readFileSync(`/proc/${api.process.pid}/cmdline`, 'utf8')).toMatch(/npm/);
  const inFlight = await halfSentRequest(JSON.stringify({ userId: newUserId(), actionKey: 'ai_chat' }));
  api.process.signal('SIGTERM');
  worker.process.signal('SIGTERM');
  await waitForLine(api, /"msg":"api shutting down"/);
  expect(await inFlight.finish()).toBe(200);
  await Promise.all([api.process.exited, worker.process.exited]);
  expect(api.process.exitCode).toBe(0);
  expect(worker.process.exitCode).toBe(0);
  await waitForLine(api, /"msg":"api stopped"/);
  await waitForLine(worker, /"msg":"worker stopped"/);
});
