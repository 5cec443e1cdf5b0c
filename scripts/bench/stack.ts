/**
 * The system under test, started fresh for every bench run: a throwaway PostgreSQL cluster (durable
 * settings unless BENCH_EPHEMERAL=1) and an in-memory Temporal dev server, migrated and seeded, with credits
 * for BENCH_USERS users; the API and the worker as production runs them (compiled JavaScript, separate
 * processes, NODE_ENV=production), started and stopped by the project's process manager
 * (scripts/services/processes.ts).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Client as PgClient } from 'pg';
import { Client, Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import {
  findFreePort,
  startPostgres,
  startProcess,
  startStripeMock,
  startTemporalDevServer,
  waitUntilReady,
  type LocalPostgres,
  type ManagedProcess,
  type StripeMock,
  type TemporalDevServer,
} from '../services';
import { run } from '../services/commands';
import { migrate } from '../../prisma/migrate';
import { seedDatabase } from '../../prisma/seed';
import type { Cleanup } from './cleanup';
import type { MemorySampler } from './proc';
import { httpGetStatus } from './http';
import { log, round } from './report';
import { PROFILE_DIR, ROOT, type BenchSettings } from './settings';

export const ACTION_KEY = 'ai_chat'; // seeded at 1 credit per unit
const CREDITS_PER_USER = 1_000_000;
const BILLING_TASK_QUEUE = 'billing-bench';
const READY_TIMEOUT_MS = 120_000;
/** Longer than the API's own SHUTDOWN_GRACE_MS (10 s): the programs drain before they are killed. */
const PROGRAM_STOP_GRACE_MS = 12_000;
/** Programs the bench runs besides the API and the worker (compiled with them). */
export const BASELINE_WORKER_ENTRY = 'scripts/bench/baseline/worker.ts';
/** The API without its metrics middleware (the `edge` scenario's "metrics off" side). */
export const API_WITHOUT_METRICS_ENTRY = 'scripts/bench/programs/api-without-metrics.ts';
const BENCH_PROGRAM_ENTRIES = [BASELINE_WORKER_ENTRY, API_WITHOUT_METRICS_ENTRY];

/**
 * What `npm run build` does, into a throwaway folder inside the checkout (where the compiled files find
 * node_modules, as dist/ does), plus the bench's own programs. Returns the folder.
 */
async function buildPrograms(extraEntries: string[], cleanup: Cleanup): Promise<string> {
  fs.mkdirSync(path.join(ROOT, '.data'), { recursive: true });
  const buildDir = fs.mkdtempSync(path.join(ROOT, '.data', 'bench-build-'));
  cleanup.add('build', () => fs.rmSync(buildDir, { recursive: true, force: true }));
  const buildConfigFile = path.join(ROOT, 'tsconfig.build.json');
  // Loaded only when building (it is large): reads tsconfig.build.json as tsc does (comments allowed).
  const { default: ts } = await import('typescript');
  const read = ts.readConfigFile(buildConfigFile, ts.sys.readFile);
  if (read.error) throw new Error(`${buildConfigFile}: ${ts.flattenDiagnosticMessageText(read.error.messageText, '\n')}`);
  const include = [...(read.config.include as string[]), ...extraEntries].map((entry) => path.join(ROOT, entry));
  const configFile = path.join(buildDir, 'tsconfig.json');
  fs.writeFileSync(configFile, JSON.stringify({ extends: buildConfigFile, compilerOptions: { outDir: buildDir }, include }, null, 2));
  // --noCheck: the same JavaScript (isolatedModules) without type-checking, which `npm test` does.
  const result = await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', configFile, '--noCheck'], { cwd: ROOT, timeoutMs: 300_000 });
  if (result.code !== 0) throw new Error(`building the programs failed:\n${result.output}`);
  // And, as `npm run build` does, the workflow bundle beside the compiled workflows (the worker then skips webpack).
  const { writeWorkflowBundle } = await import('../../worker/workflow-bundle');
  await writeWorkflowBundle(path.join(buildDir, 'workflows', 'index.js'));
  return buildDir;
}

export interface Users {
  userIds: string[];
  grantIds: string[];
}

/** One active grant of CREDITS_PER_USER per user, with its 'grant' ledger entry (as grantCredits makes). */
async function grantBenchCredits(admin: PgClient, users: number): Promise<Users> {
  await admin.query('BEGIN');
  try {
    await admin.query(
      `INSERT INTO user_packages (id, user_id, source, status, total_credits, priority, starts_at, updated_at)
       SELECT gen_random_uuid(), 'bench-user-' || lpad(i::text, 6, '0'), 'gift', 'active', $2, 100, now() - interval '1 minute', now()
       FROM generate_series(1, $1::int) AS i`,
      [users, CREDITS_PER_USER],
    );
    await admin.query(
      `INSERT INTO credit_ledger_entries (user_id, user_package_id, entry_type, amount, reference_type, reference_id, actor)
       SELECT user_id, id, 'grant', total_credits, 'grant', id::text, 'bench'
       FROM user_packages WHERE user_id LIKE 'bench-user-%'`,
    );
    // The balance-low rule's note of the grant (at or above the threshold: armed), as an assignment leaves it.
    await admin.query(
      `INSERT INTO balance_low_states (user_id, below, updated_at)
       SELECT user_id, false, now() FROM user_packages WHERE user_id LIKE 'bench-user-%'
       ON CONFLICT (user_id) DO NOTHING`,
    );
    await admin.query('COMMIT');
  } catch (error) {
    await admin.query('ROLLBACK');
    throw error;
  }
  const { rows } = await admin.query<{ id: string; user_id: string }>(
    `SELECT id, user_id FROM user_packages WHERE user_id LIKE 'bench-user-%' ORDER BY user_id`,
  );
  return { userIds: rows.map((row) => row.user_id), grantIds: rows.map((row) => row.id) };
}

/** Settings added to the environment of the API or the worker. */
export interface ProgramEnv {
  api?: NodeJS.ProcessEnv;
  worker?: NodeJS.ProcessEnv;
}

export class BenchStack {
  /** ms from start to ready, by program. */
  readonly readyMs: Record<string, number> = {};
  api!: ManagedProcess;
  worker!: ManagedProcess;

  private constructor(
    readonly settings: BenchSettings,
    readonly workDir: string,
    readonly postgres: LocalPostgres,
    readonly temporalServer: TemporalDevServer,
    readonly admin: PgClient,
    readonly pgSettings: Record<string, string>,
    readonly connection: Connection,
    readonly client: Client,
    readonly temporalVersion: string,
    readonly users: Users,
    readonly buildDir: string | undefined,
    readonly apiPort: number,
    readonly serviceKey: string,
    readonly stripeMock: StripeMock,
    private readonly cleanup: Cleanup,
  ) {}

  /** Secrets the bench needs to know besides the service key (signing Stripe events, storing webhook endpoints, scraping). */
  readonly adminKey = `bench-admin-${randomBytes(16).toString('hex')}`;
  readonly metricsToken = `bench-metrics-${randomBytes(16).toString('hex')}`;
  readonly stripeWebhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
  /** Production refuses the development key (modules/events/config.ts). */
  readonly webhookSecretsKey = randomBytes(32).toString('base64');
  private readonly userTokenSecret = randomBytes(32).toString('hex');

  /**
   * Starts everything; `memory` tracks the API and the worker from their first moment (start-up peaks).
   * `programEnv` adds settings to the API's or the worker's environment (e.g. WORKER_METRICS_PORT).
   */
  static async start(settings: BenchSettings, cleanup: Cleanup, memory: MemorySampler, programEnv: ProgramEnv = {}): Promise<BenchStack> {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-billing-bench-'));
    // Reachable by the `postgres` OS user (when we run as root), so the cluster stays in here and goes with it.
    fs.chmodSync(workDir, 0o755);
    cleanup.add('temp dir', () => fs.rmSync(workDir, { recursive: true, force: true }));

    log(
      `starting PostgreSQL (ephemeral: ${settings.ephemeral}) and a Temporal dev server (in memory) in ${workDir}` +
        (settings.runtime === 'compiled' ? '; building the programs' : ''),
    );
    const [pgStart, temporalStart, build, stripeStart] = await Promise.allSettled([
      startPostgres({ dataDir: path.join(workDir, 'pg'), ephemeral: settings.ephemeral }),
      startTemporalDevServer({ uiPort: false, log: path.join(workDir, 'temporal.log') }),
      settings.runtime === 'compiled'
        ? buildPrograms([settings.apiEntry, settings.workerEntry, ...BENCH_PROGRAM_ENTRIES], cleanup)
        : Promise.resolve(undefined),
      // Orders pay through Stripe: the API and the worker talk to stripe-mock (idle unless orders run).
      startStripeMock({ log: path.join(workDir, 'stripe-mock.log') }),
    ]);
    if (pgStart.status === 'fulfilled') cleanup.add('postgres', () => pgStart.value.stop());
    if (temporalStart.status === 'fulfilled') cleanup.add('temporal', () => temporalStart.value.stop());
    if (stripeStart.status === 'fulfilled') cleanup.add('stripe-mock', () => stripeStart.value.stop());
    for (const outcome of [pgStart, temporalStart, build, stripeStart]) if (outcome.status === 'rejected') throw outcome.reason;
    const stripeMock = (stripeStart as PromiseFulfilledResult<StripeMock>).value;
    const postgres = (pgStart as PromiseFulfilledResult<LocalPostgres>).value;
    const temporalServer = (temporalStart as PromiseFulfilledResult<TemporalDevServer>).value;
    const buildDir = (build as PromiseFulfilledResult<string | undefined>).value;

    await migrate(postgres.url);
    await seedDatabase(postgres.url);
    const admin = new PgClient({ connectionString: postgres.url, application_name: 'bench-admin' });
    await admin.connect();
    cleanup.add('admin connection', () => admin.end());
    const pgInfo = await admin.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN
         ('server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'max_connections', 'wal_sync_method')`,
    );
    const pgSettings = Object.fromEntries(pgInfo.rows.map((row) => [row.name, row.setting]));
    const users = await grantBenchCredits(admin, settings.users);
    log(`PostgreSQL ${pgSettings.server_version} at ${postgres.url}: migrated, seeded, ${users.userIds.length} users × ${CREDITS_PER_USER} credits`);

    const connection = await Connection.connect({ address: temporalServer.address });
    cleanup.add('temporal client', () => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const temporalVersion = (await connection.workflowService.getSystemInfo({})).serverVersion ?? 'unknown';
    log(`Temporal server ${temporalVersion} at ${temporalServer.address}`);

    const stack = new BenchStack(
      settings,
      workDir,
      postgres,
      temporalServer,
      admin,
      pgSettings,
      connection,
      client,
      temporalVersion,
      users,
      buildDir,
      await findFreePort(),
      `bench-service-${randomBytes(16).toString('hex')}`,
      stripeMock,
      cleanup,
    );
    stack.grpcPort = await findFreePort();
    await stack.startApiAndWorker(memory, programEnv);
    return stack;
  }

  /** The API's gRPC port (GRPC_PORT), for the grpc scenario. */
  grpcPort = 0;

  get postgresLogFile(): string {
    return this.postgres.logFile ?? path.join(this.postgres.dataDir, 'postgres.log');
  }

  /** How a program runs: `node <build>/x.js`, or `node --import tsx x.ts`. */
  describeProgram(entry: string): string {
    return this.buildDir ? `node ${path.relative(ROOT, this.compiledPath(entry))}` : `node --import tsx ${entry}`;
  }

  private compiledPath(entry: string): string {
    return path.join(this.buildDir!, entry.replace(/\.ts$/, '.js'));
  }

  /**
   * Starts one of the programs (API, worker, baseline worker) from its entry (a TypeScript source path),
   * compiled or under tsx as the settings say, and waits until `ready` passes.
   */
  async startProgram(
    name: string,
    entry: string,
    env: NodeJS.ProcessEnv,
    ready: () => Promise<void>,
    onSpawn: (program: ManagedProcess) => void = () => undefined,
  ): Promise<ManagedProcess> {
    // One profile file per thread (tsx's loader hooks run on their own), so one directory per process.
    const profile = this.settings.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(PROFILE_DIR, name)}`] : [];
    const args = this.buildDir ? [...profile, this.compiledPath(entry)] : [...profile, '--import', 'tsx', entry];
    const program = startProcess({
      name,
      command: process.execPath,
      args,
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...productionRuntimeEnv(name), ...env },
      log: path.join(this.workDir, `${name}.log`),
      stopGraceMs: PROGRAM_STOP_GRACE_MS,
    });
    this.cleanup.add(name, () => program.stop());
    onSpawn(program);
    await waitUntilReady(program, ready, READY_TIMEOUT_MS);
    return program;
  }

  /** The environment of the API and the worker (a scenario starting a variant of one passes its changes). */
  appEnv(name: string, changes: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      DATABASE_URL: `${this.postgres.url}?application_name=bench-${name}`,
      TEMPORAL_ADDRESS: this.temporalServer.address,
      TEMPORAL_TASK_QUEUE: BILLING_TASK_QUEUE,
      SERVICE_API_KEYS: this.serviceKey,
      ADMIN_API_KEYS: this.adminKey,
      METRICS_TOKENS: this.metricsToken,
      USER_TOKEN_SECRET: this.userTokenSecret,
      STRIPE_API_BASE: this.stripeMock.url,
      STRIPE_SECRET_KEY: 'sk_test_123', // stripe-mock takes any valid-looking test key (not the config's default)
      STRIPE_WEBHOOK_SECRET: this.stripeWebhookSecret,
      WEBHOOK_SECRETS_KEY: this.webhookSecretsKey,
      PORT: String(this.apiPort),
      GRPC_PORT: String(this.grpcPort),
      // The limiter still counts every request (same work), but never refuses the bench's load: one service key
      // and anonymous webhooks from one address far exceed the per-minute defaults in a few seconds.
      RATE_LIMIT_SERVICE: '1000000',
      RATE_LIMIT_ANONYMOUS: '1000000',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      ...changes,
    };
  }

  /** The billing worker's task queue. */
  get taskQueue(): string {
    return BILLING_TASK_QUEUE;
  }

  private async startApiAndWorker(memory: MemorySampler, programEnv: ProgramEnv): Promise<void> {
    const { settings } = this;
    if (settings.cpuProfile) log(`BENCH_CPU_PROFILE: CPU profiles go to ${path.relative(ROOT, PROFILE_DIR)} (profiling slows the processes: figures are not representative)`);
    if (settings.apiEntry !== 'api/main.ts' || settings.workerEntry !== 'worker/main.ts') {
      log(`candidate entry points: api ${settings.apiEntry}, worker ${settings.workerEntry}`);
    }
    const started = performance.now();
    const [api, worker] = await Promise.all([
      this.startProgram('api', settings.apiEntry, this.appEnv('api', { ...programEnv.api, ...programEnvFromBench('BENCH_API_ENV', 'API') }), async () => {
        const status = await httpGetStatus(this.apiPort, '/readyz');
        if (status !== 200) throw new Error(`/readyz answered ${status}`);
        this.readyMs.api ??= round(performance.now() - started, 0);
      }, (program) => memory.track('api', program.pid)),
      this.startProgram('worker', settings.workerEntry, this.appEnv('worker', { ...programEnv.worker, ...programEnvFromBench('BENCH_WORKER_ENV', 'billing worker') }), async () => {
        await this.assertPolling(BILLING_TASK_QUEUE);
        this.readyMs.worker ??= round(performance.now() - started, 0);
      }, (program) => memory.track('worker', program.pid)),
    ]);
    this.api = api;
    this.worker = worker;
    log(
      `api (${this.describeProgram(settings.apiEntry)}, pid ${api.pid}) ready in ${this.readyMs.api} ms on port ${this.apiPort}; ` +
        `worker (${this.describeProgram(settings.workerEntry)}, pid ${worker.pid}) polling in ${this.readyMs.worker} ms`,
    );
  }

  /** Passes when a worker polls `taskQueue` for both workflow and activity tasks. */
  async assertPolling(taskQueue: string): Promise<void> {
    const { TaskQueueType } = proto.api.enums.v1;
    const counts = await Promise.all(
      [TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY].map(async (taskQueueType) => {
        const answer = await this.connection.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType });
        return answer.pollers?.length ?? 0;
      }),
    );
    if (!counts.every((count) => count > 0)) throw new Error(`no worker polling ${taskQueue} yet`);
  }

  randomUser(): string {
    return this.users.userIds[Math.floor(Math.random() * this.users.userIds.length)]!;
  }

  /** A random user and their grant. */
  randomUserAndGrant(): { userId: string; grantId: string } {
    const index = Math.floor(Math.random() * this.users.userIds.length);
    return { userId: this.users.userIds[index]!, grantId: this.users.grantIds[index]! };
  }

  /**
   * Same starting conditions for every measured phase: no work left over from an earlier one. The
   * worker's event relay has handed over every event (a phase of 4,000 deducts a second leaves tens of
   * thousands, and relaying them during the next phase tripled its database CPU per deduct: measured),
   * every table is vacuumed (else autovacuum cleans up one phase's rows during the next), statistics are
   * fresh and a checkpoint leaves no checkpoint debt.
   */
  async settleDatabase(): Promise<void> {
    await this.waitForRelayedEvents();
    await this.admin.query('VACUUM (ANALYZE)');
    await this.admin.query('CHECKPOINT');
  }

  /** Until no event awaits the relay, or the count stops falling for 5 s (relay off or stuck: said, not fatal). */
  private async waitForRelayedEvents(): Promise<void> {
    const unrelayed = async () =>
      Number((await this.admin.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE relayed_at IS NULL')).rows[0]!.n);
    const started = Date.now();
    let left = await unrelayed();
    let progressAt = Date.now();
    while (left > 0) {
      if (Date.now() - progressAt > 5_000) {
        log(`  ! ${left} events still unrelayed after ${((Date.now() - started) / 1000).toFixed(1)} s (relay off or stuck): measuring anyway`);
        return;
      }
      await delay(250);
      const now = await unrelayed();
      if (now < left) progressAt = Date.now();
      left = now;
    }
    if (Date.now() - started > 1_000) log(`  (the relay drained the earlier phase's events in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
}

/**
 * The V8 settings production runs with (the Dockerfile and `npm run start:*`): a 2 MiB semi-space for
 * every program, and for the API (stateless, ~40 MiB of live heap) an old space capped at 96 MiB, so V8
 * collects instead of growing the heap under load; for the worker at 160 MiB, room for its workflow cache
 * (250 runs, ~75 MiB) and a burst's garbage, so V8 collects before its RSS passes ~350 MiB (docs/performance.md).
 */
export const PRODUCTION_NODE_OPTIONS: Record<string, string> = {
  api: '--max-semi-space-size=2 --max-old-space-size=96',
  worker: '--max-semi-space-size=2 --max-old-space-size=160',
  'baseline-worker': '--max-semi-space-size=2',
};

/**
 * BENCH_WORKER_ENV / BENCH_API_ENV="NAME=value,NAME=value": settings for the billing worker or the API only
 * (a setting's effect, e.g. WORKER_MAX_CACHED_WORKFLOWS or DEDUCT_GROUP_COMMIT, measured without a code change).
 */
function programEnvFromBench(variable: string, program: string): NodeJS.ProcessEnv {
  const raw = process.env[variable] ?? '';
  const env: NodeJS.ProcessEnv = {};
  for (const pair of raw.split(',').map((part) => part.trim()).filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`${variable}: "${pair}" is not NAME=value`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  if (raw) log(`${variable}: the ${program} runs with ${Object.entries(env).map(([name, value]) => `${name}=${value}`).join(' ')}`);
  return env;
}

/**
 * glibc's malloc arenas as production sets them (Dockerfile, `npm run start:*`, docker-compose.yml): two,
 * not one per thread; every program the bench starts gets it, the baselines too.
 */
export const PRODUCTION_MALLOC_ARENA_MAX = '2';

/**
 * NODE_OPTIONS and MALLOC_ARENA_MAX of a program: production's, or BENCH_NODE_OPTIONS (for every program) to
 * compare other V8 settings (empty = V8's defaults) and BENCH_MALLOC_ARENA_MAX (empty = glibc's default).
 */
function productionRuntimeEnv(program: string): NodeJS.ProcessEnv {
  const options = process.env.BENCH_NODE_OPTIONS ?? PRODUCTION_NODE_OPTIONS[program] ?? '--max-semi-space-size=2';
  const arenas = process.env.BENCH_MALLOC_ARENA_MAX ?? PRODUCTION_MALLOC_ARENA_MAX;
  return { ...(options ? { NODE_OPTIONS: options } : {}), ...(arenas ? { MALLOC_ARENA_MAX: arenas } : {}) };
}
