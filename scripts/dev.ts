/**
 * `npm run dev`: the whole service on one machine with one command, for trying it out.
 * Starts (unless TEMPORAL_ADDRESS / DATABASE_URL point at running ones) a Temporal dev server with
 * its Web UI on :8233 and state in .data/temporal.db, and a local PostgreSQL cluster in .data/postgres
 * (or, as root in a folder the `postgres` user cannot enter, in /var/tmp: the output says where);
 * applies migrations and seed data; runs the worker and the API as child processes
 * (scripts/services/processes.ts) and waits until the API is ready. Builds the console (console/, served by
 * the API at /console) first; `npm run console:watch` in another terminal rebuilds it on every edit. Ctrl-C stops all.
 * One run per checkout: a second one names the running one and its ports (scripts/dev-lock.ts); a port
 * another program holds is named, with the variable that moves it, before anything starts.
 */
import path from 'node:path';
import { SignJWT } from 'jose';
import { startPostgres, startProcess, startService, startStripeMock, startTemporalDevServer, type ManagedProcess } from './services';
import { migrate } from '../prisma/migrate';
import { seedDatabase } from '../prisma/seed';
import { startSmtpSink } from './services/smtp-sink';
import { buildConsole } from './console-build';
import { acquireDevLock, describeTakenPorts, takenEndpoints, type DevEndpoint, type DevLock } from './dev-lock';

const ROOT = path.join(__dirname, '..');
/** The dev state (Temporal's database, the PostgreSQL cluster, the lock); DEV_DATA_DIR moves it. */
const DATA = process.env.DEV_DATA_DIR ? path.resolve(process.env.DEV_DATA_DIR) : path.join(ROOT, '.data');
/** Longer than the API's SHUTDOWN_GRACE_MS (10 s): in-flight requests and activities finish first. */
const PROGRAM_STOP_GRACE_MS = 15_000;
/** The worker bundles the workflows at start; the API connects to PostgreSQL and Temporal. */
const PROGRAM_READY_TIMEOUT_MS = 120_000;

/** Development-only credentials, used when the variables are unset. Never use them in production. */
const DEV_DEFAULTS = {
  SERVICE_API_KEYS: 'dev-service-key-change-me',
  ADMIN_API_KEYS: 'dev-admin-key-change-me',
  USER_TOKEN_SECRET: 'dev-user-token-secret-change-me-0123456789',
};

interface Stoppable {
  stop(): Promise<void>;
}

/** Services (PostgreSQL, Temporal), stopped last, in reverse order. */
const services: Stoppable[] = [];
/** The API and the worker, stopped first. */
const programs: ManagedProcess[] = [];

function say(line: string): void {
  process.stdout.write(`[dev] ${line}\n`);
}

let shuttingDown = false;
async function shutdown(exitCode: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  say('stopping...');
  await Promise.all(programs.map((program) => program.stop()));
  for (const service of services.reverse()) await service.stop().catch(() => undefined);
  say('stopped');
  process.exit(exitCode);
}

/** One of our programs run from its TypeScript source, its output on this terminal. If it ends on its
 * own, everything stops: a dev stack with a dead worker would only confuse. */
async function runProgram(name: string, entry: string, env: NodeJS.ProcessEnv, ready?: () => Promise<void>): Promise<void> {
  const spec = {
    name,
    command: process.execPath,
    args: ['--import', 'tsx', entry],
    cwd: ROOT,
    env,
    log: 'inherit' as const,
    stopGraceMs: PROGRAM_STOP_GRACE_MS,
  };
  const program = ready ? await startService(spec, ready, PROGRAM_READY_TIMEOUT_MS) : startProcess(spec);
  programs.push(program);
  void program.exited.then(() => {
    if (shuttingDown) return;
    say(`${name} ${program.exitReason}; stopping everything`);
    void shutdown(1);
  });
}

async function apiIsReady(port: string): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
  if (response.status !== 200) throw new Error(`/readyz answered ${response.status}`);
}

/** The ports this run will listen on: those of the services it starts itself, and the API's. */
function plannedEndpoints(env: NodeJS.ProcessEnv, apiPort: number): DevEndpoint[] {
  const endpoints: DevEndpoint[] = [];
  const port = (variable: string, fallback: number) => Number(env[variable] ?? fallback);
  if (!env.TEMPORAL_ADDRESS) {
    endpoints.push({ name: 'Temporal', port: port('DEV_TEMPORAL_PORT', 7233), variable: 'DEV_TEMPORAL_PORT' });
    const uiPort = port('DEV_TEMPORAL_UI_PORT', 8233);
    endpoints.push({ name: 'Temporal Web UI', port: uiPort, variable: 'DEV_TEMPORAL_UI_PORT', url: `http://127.0.0.1:${uiPort}` });
  }
  if (!env.DATABASE_URL) endpoints.push({ name: 'PostgreSQL', port: port('DEV_POSTGRES_PORT', 54329), variable: 'DEV_POSTGRES_PORT' });
  if (!env.STRIPE_API_BASE && !env.STRIPE_SECRET_KEY) endpoints.push({ name: 'stripe-mock', port: port('DEV_STRIPE_MOCK_PORT', 12111), variable: 'DEV_STRIPE_MOCK_PORT' });
  if (!env.SMTP_URL) endpoints.push({ name: 'mail sink (SMTP)', port: port('DEV_SMTP_PORT', 1025), variable: 'DEV_SMTP_PORT' });
  if (env.WORKER_METRICS_PORT) endpoints.push({ name: 'worker metrics', port: Number(env.WORKER_METRICS_PORT), variable: 'WORKER_METRICS_PORT' });
  endpoints.push({ name: 'API', port: apiPort, variable: 'PORT', url: `http://127.0.0.1:${apiPort}` });
  return endpoints;
}

/** Thrown before anything starts: the message says what to do, nothing needs stopping. */
class CannotStartError extends Error {}

/** Takes this checkout's dev lock, then checks that no other program holds the ports this run needs. */
async function claimPorts(endpoints: DevEndpoint[]): Promise<DevLock> {
  let lock: DevLock;
  try {
    lock = acquireDevLock(path.join(DATA, 'dev.lock'), endpoints);
  } catch (error) {
    throw new CannotStartError((error as Error).message);
  }
  const taken = await takenEndpoints(endpoints);
  if (taken.length > 0) {
    lock.release();
    throw new CannotStartError(describeTakenPorts(taken));
  }
  return lock;
}

async function main(): Promise<void> {
  // First: a signal while the lock is held must release it on the way out.
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  const port = process.env.PORT ?? '3000';
  await claimPorts(plannedEndpoints(process.env, Number(port)));

  let temporalAddress = process.env.TEMPORAL_ADDRESS;
  let uiUrl: string | undefined;
  let databaseUrl = process.env.DATABASE_URL;
  let stripeApiBase = process.env.STRIPE_API_BASE;
  let smtpUrl = process.env.SMTP_URL;

  await Promise.all([
    buildConsole().then(() => say('console built (console/dist)')),
    (async () => {
      if (temporalAddress) return;
      const temporal = await startTemporalDevServer({
        port: Number(process.env.DEV_TEMPORAL_PORT ?? 7233),
        uiPort: Number(process.env.DEV_TEMPORAL_UI_PORT ?? 8233),
        dbFile: path.join(DATA, 'temporal.db'),
      });
      services.push(temporal);
      temporalAddress = temporal.address;
      uiUrl = temporal.uiUrl;
    })(),
    (async () => {
      // Stripe calls go to stripe-mock unless a real key is configured.
      if (stripeApiBase || process.env.STRIPE_SECRET_KEY) return;
      const stripeMock = await startStripeMock({ port: Number(process.env.DEV_STRIPE_MOCK_PORT ?? 12111) });
      services.push(stripeMock);
      stripeApiBase = stripeMock.url;
    })(),
    (async () => {
      // Notification mails go to a local sink that prints each one, unless an SMTP server is configured.
      if (smtpUrl) return;
      const port = Number(process.env.DEV_SMTP_PORT ?? 1025);
      const sink = await startSmtpSink({
        port,
        onMail: (mail) => say(`mail to ${mail.to}: "${mail.subject}"\n${mail.text.trim().replace(/^/gm, '      ')}`),
      });
      services.push(sink);
      smtpUrl = `smtp://127.0.0.1:${sink.port}`;
    })(),
    (async () => {
      if (databaseUrl) return;
      const postgres = await startPostgres({ dataDir: path.join(DATA, 'postgres'), port: Number(process.env.DEV_POSTGRES_PORT ?? 54329) });
      services.push(postgres);
      databaseUrl = postgres.url;
      if (postgres.relocatedFrom) {
        say(`PostgreSQL data in ${postgres.dataDir} instead of ${postgres.relocatedFrom.dataDir}: ${postgres.relocatedFrom.reason}`);
      } else {
        say(`PostgreSQL data in ${postgres.dataDir}`);
      }
    })(),
  ]);

  const applied = await migrate(databaseUrl!);
  await seedDatabase(databaseUrl!);
  say(`database ${databaseUrl} (${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}; seed data present)`);
  say(`temporal ${temporalAddress}${uiUrl ? `, Web UI ${uiUrl}` : ''}`);
  if (stripeApiBase) say(`stripe-mock ${stripeApiBase} (npm run pay -- <orderId> completes a Stripe order)`);
  if (!process.env.SMTP_URL) say(`mail sink ${smtpUrl}: notification mails are printed here, prefixed "mail to"`);

  const env: NodeJS.ProcessEnv = {
    ...DEV_DEFAULTS,
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    PORT: port,
    PUBLIC_BASE_URL: process.env.PUBLIC_BASE_URL ?? `http://127.0.0.1:${port}`,
    ...(uiUrl && !process.env.TEMPORAL_UI_URL ? { TEMPORAL_UI_URL: uiUrl } : {}),
    ...(stripeApiBase ? { STRIPE_API_BASE: stripeApiBase } : {}),
    ...(smtpUrl ? { SMTP_URL: smtpUrl } : {}),
  };
  await Promise.all([runProgram('worker', 'worker/main.ts', env), runProgram('api', 'api/main.ts', env, () => apiIsReady(port))]);

  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('user-42')
    .setExpirationTime('30d')
    .sign(new TextEncoder().encode(env.USER_TOKEN_SECRET));
  say(`api http://127.0.0.1:${port} ready  (docs http://127.0.0.1:${port}/docs)`);
  if (!process.env.SERVICE_API_KEYS) {
    say('development credentials (set SERVICE_API_KEYS, ADMIN_API_KEYS, USER_TOKEN_SECRET to replace them):');
    say(`  service key  ${DEV_DEFAULTS.SERVICE_API_KEYS}`);
    say(`  admin key    ${DEV_DEFAULTS.ADMIN_API_KEYS}`);
  }
  say(`  user token for user-42  ${token}`);
  say(`console http://127.0.0.1:${port}/console  (operator pages: sign in with the admin key)`);
  say(`  user-42's page  http://127.0.0.1:${port}/console/me#token=${token}`);
  say('Ctrl-C stops everything.');
}

main().catch(async (error: unknown) => {
  if (error instanceof CannotStartError) {
    process.stderr.write(`${error.message.replace(/^/gm, '[dev] ')}\n`);
    process.exit(1);
  }
  process.stderr.write(`[dev] failed: ${(error as Error).message}\n`);
  await shutdown(1);
});
