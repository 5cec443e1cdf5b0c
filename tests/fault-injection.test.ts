/**
 * Hostile conditions, on a stack of its own (its own PostgreSQL and its own Temporal dev server with a
 * SQLite data file), so killing them disturbs no other test file:
 * - the Temporal server killed (SIGKILL) and restarted on its data file during concurrent reserves:
 *   every call ends in a documented answer (201, a 4xx refusal, or 503 with Retry-After), callers
 *   retrying with the same key all get their reservation, one run per reservation, invariant holds;
 * - PostgreSQL stopped and restarted during deducts: 503 with Retry-After (never 500), then success on
 *   a retry with the same key, charged exactly once;
 * - a reserve retried after its run closed starts no second run (id reuse policy REJECT_DUPLICATE).
 */
import { mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { startPostgres, startTemporalDevServer, type LocalPostgres, type TemporalDevServer } from '../scripts/services';
import { migrate } from '../prisma/migrate';
import { seedDatabase } from '../prisma/seed';
import { reservationWorkflowId } from '../workflows/reservation-contract';
import { expectLedgerInvariant, grantCredits, newUserId, startStack, type ApiResponse, type TestStack } from './support/stack';
import { waitFor } from './support/wait';

let workDir: string;
let postgres: LocalPostgres;
let temporal: TemporalDevServer;
let stack: TestStack;
const temporalDbFile = () => path.join(workDir, 'temporal.sqlite');

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'durable-billing-faults-'));
  chmodSync(workDir, 0o755); // the `postgres` OS user must reach its data dir when we run as root
  [postgres, temporal] = await Promise.all([
    startPostgres({ dataDir: path.join(workDir, 'pg'), ephemeral: true }),
    startTemporalDevServer({ uiPort: false, dbFile: temporalDbFile() }),
  ]);
  await migrate(postgres.url);
  await seedDatabase(postgres.url);
  stack = await startStack({ databaseUrl: postgres.url, temporalAddress: temporal.address, callTimeoutMs: 8_000 });
}, 90_000);

afterAll(async () => {
  await stack?.close();
  await Promise.allSettled([temporal?.stop(), postgres?.stop()]);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}, 60_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a well-behaved client does: retry a 503 with the same key after Retry-After, until an answer or a deadline. */
async function callUntilAnswered(send: () => Promise<ApiResponse>, answers: ApiResponse[], deadline: number): Promise<ApiResponse> {
  for (;;) {
    let response: ApiResponse;
    try {
      response = await send();
    } catch (error) {
      throw new Error(`no documented HTTP answer: ${String(error)}`);
    }
    answers.push(response);
    if (response.status !== 503 || Date.now() > deadline) return response;
    await sleep(Number(response.headers.get('retry-after')) * 1000);
  }
}

/** Every answer is documented: a success, a 4xx refusal in the envelope, or 503 with Retry-After. */
function expectDocumentedAnswers(answers: ApiResponse[], success: number): void {
  const undocumented = answers.filter((a) => {
    if (a.status === success) return false;
    if (a.status === 503) {
      const seconds = Number(a.headers.get('retry-after'));
      return !(a.body.error.code === 'SERVICE_UNAVAILABLE' && seconds >= 1 && a.body.error.details.retryAfterSeconds === seconds);
    }
    return !(a.status >= 400 && a.status < 500 && typeof a.body.error?.code === 'string');
  });
  expect(undocumented.map((a) => ({ status: a.status, body: a.body }))).toEqual([]);
}

async function runsOf(workflowId: string): Promise<number> {
  let runs = 0;
  for await (const _ of stack.temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs++;
  return runs;
}

it('Temporal server killed and restarted during concurrent reserves: documented answers, one run per reservation', async () => {
  const userId = newUserId('fault-temporal');
  await grantCredits(stack.db, userId, 10_000);
  const keys = Array.from({ length: 24 }, () => `reserve-${randomUUID()}`);
  const answers: ApiResponse[] = [];
  const deadline = Date.now() + 40_000;
  const started = Date.now();

  let serverDown = false;
  let sentWhileDown = 0;
  const calls = keys.map(async (key, i) => {
    await sleep(i * 40); // spread over ~1 s, so the kill lands mid-load
    if (serverDown) sentWhileDown++;
    return callUntilAnswered(
      () => stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', holdSeconds: 600 }, idempotencyKey: key }),
      answers,
      deadline,
    );
  });
  await sleep(400);
  process.kill(temporal.pid, 'SIGKILL');
  serverDown = true;
  await sleep(2_000);
  serverDown = false;
  temporal = await startTemporalDevServer({ uiPort: false, dbFile: temporalDbFile(), port: temporal.port });
  const finals = await Promise.all(calls);
  const elapsed = Date.now() - started;

  expectDocumentedAnswers(answers, 201);
  // Calls met the dead server (the SDK retries some through a short outage, the rest answer 503).
  expect(sentWhileDown).toBeGreaterThan(0);
  expect(finals.map((f) => f.status)).toEqual(keys.map(() => 201));
  const ids = finals.map((f) => f.body.id as string);
  expect(new Set(ids).size).toBe(keys.length);
  for (const id of ids) expect([id, await runsOf(reservationWorkflowId(id))]).toEqual([id, 1]);
  expect(await stack.db.reservation.count({ where: { userId } })).toBe(keys.length);
  await expectLedgerInvariant(stack.db, userId);
  process.stdout.write(`[fault] temporal kill: ${answers.length} answers (${answers.filter((a) => a.status === 503).length} x 503), ${sentWhileDown} sent while down, in ${elapsed} ms\n`);
}, 60_000);

it('PostgreSQL stopped and restarted during deducts: 503 with Retry-After, then exactly once on retry', async () => {
  const userId = newUserId('fault-pg');
  await grantCredits(stack.db, userId, 10_000);
  const keys = Array.from({ length: 30 }, () => `deduct-${randomUUID()}`);
  const answers: ApiResponse[] = [];
  const deadline = Date.now() + 30_000;

  const calls = keys.map(async (key, i) => {
    await sleep(i * 30);
    return callUntilAnswered(
      () => stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' }, idempotencyKey: key }),
      answers,
      deadline,
    );
  });
  await sleep(300);
  const port = postgres.port;
  await postgres.stop();
  const outageStarted = Date.now();
  // While it is down the outage is known, so later calls are answered at once (DependencyMonitor's fail-fast,
  // tests/unit/dependency-outages.test.ts), not after a timeout. Checked as the state, not as a duration,
  // which a loaded machine stretches.
  const probe = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' } });
  expect(probe.status).toBe(503);
  expect(stack.deps.health.database.isDown).toBe(true);
  await sleep(Math.max(0, 2_000 - (Date.now() - outageStarted)));
  postgres = await startPostgres({ dataDir: postgres.dataDir, ephemeral: true, port });
  const finals = await Promise.all(calls);

  expectDocumentedAnswers(answers, 201);
  expect(answers.filter((a) => a.status === 503).length).toBeGreaterThan(0);
  expect(finals.map((f) => f.status)).toEqual(keys.map(() => 201));
  // Exactly once: one consumption per key, and the replays answer the same consumption.
  expect(await stack.db.consumptionRecord.count({ where: { userId } })).toBe(keys.length);
  expect(new Set(finals.map((f) => f.body.id)).size).toBe(keys.length);
  const replay = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' }, idempotencyKey: keys[0] });
  expect(replay.status).toBe(201);
  expect(replay.body.id).toBe(finals[0]!.body.id);
  await expectLedgerInvariant(stack.db, userId);
}, 60_000);

describe('a retried reserve never starts a second run', () => {
  it('retry while the run is open joins it; retry after it closed answers from the closed run', async () => {
    const userId = newUserId('fault-reuse');
    await grantCredits(stack.db, userId, 100);
    const key = `reserve-${randomUUID()}`;
    const reserve = () => stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', holdSeconds: 600 }, idempotencyKey: key });
    const first = await reserve();
    expect(first.status).toBe(201);
    const workflowId = reservationWorkflowId(first.body.id);

    const whileOpen = await reserve();
    expect(whileOpen.status).toBe(201);
    expect(whileOpen.body).toEqual(first.body);
    expect(await runsOf(workflowId)).toBe(1);

    expect((await stack.call('POST', `/v1/internal/reservations/${first.body.id}/release`, { body: {} })).status).toBe(200);
    await stack.temporal.workflow.getHandle(workflowId).result();

    const afterClose = await reserve();
    expect(afterClose.status).toBe(201);
    expect(afterClose.body).toEqual(first.body); // the reserve's first answer, kept with the closed run
    expect(await runsOf(workflowId)).toBe(1);
    expect(await stack.db.reservation.count({ where: { userId } })).toBe(1);
    await expectLedgerInvariant(stack.db, userId);
  });
});

describe('commit-time rule (modules/reservations/rules/commit-time.ts) end to end', () => {
  // The workflow's commit validator applies commitTimeVerdict (workflows/reservation-run.ts).
  it('a commit accepted before the deadline while the worker is down is applied when the worker is back, within COMMIT_GRACE_MS', async () => {
    const userId = newUserId('fault-commit');
    await grantCredits(stack.db, userId, 100);
    await stack.stopWorker();
    try {
      // A reserve holds in the database and only starts its run: no worker needed. The commit follows at once,
      // well inside the hold (a margin no loaded machine eats up), and waits for a worker until the call's
      // timeout (8 s).
      const reserved = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', holdSeconds: 10 } });
      expect(reserved.status).toBe(201);
      const key = randomUUID();
      const sendCommit = () => stack.call('POST', `/v1/internal/reservations/${reserved.body.id}/commit`, { body: {}, idempotencyKey: key });
      const commit = sendCommit();
      const deadline = Date.parse(reserved.body.expiresAt);
      await waitFor(() => Date.now() > deadline, 60_000, 'the deadline to pass while no worker runs');
      await stack.startWorker();
      // A 503 (the worker took longer than the call's timeout to come back) is retried with the same key,
      // as a client does: the retry gets the first commit's answer, never a second commit.
      const first = await commit;
      const answer = first.status === 503 ? await waitFor(async () => { const r = await sendCommit(); return r.status !== 503 && r; }, 60_000, 'a commit answer that is not 503') : first;
      expect(answer.status).toBe(200);
      expect(answer.body.reservation.status).toBe('committed');
    } finally {
      if (!stack.worker) await stack.startWorker();
    }
    await expectLedgerInvariant(stack.db, userId);
  });
});
