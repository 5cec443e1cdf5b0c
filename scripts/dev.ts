/**
 * `npm run dev`: the whole service on one machine with one command, for trying it out.
 * Starts (unless TEMPORAL_ADDRESS / DATABASE_URL point at running ones) a Temporal dev server with
 * its Web UI on :8233 and state in .data/temporal.db, and a local PostgreSQL cluster in .data/postgres;
 * applies migrations and seed data; runs the worker and the API as child processes. Ctrl-C stops all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { SignJWT } from 'jose';
import { startPostgres, startTemporalDevServer } from './services';
import { migrate } from '../prisma/migrate';
import { seedDatabase } from '../prisma/seed';

const ROOT = path.join(__dirname, '..');
const DATA = path.join(ROOT, '.data');

/** Development-only credentials, used when the variables are unset. Never use them in production. */
const DEV_DEFAULTS = {
  SERVICE_API_KEYS: 'dev-service-key-change-me',
  ADMIN_API_KEYS: 'dev-admin-key-change-me',
  USER_TOKEN_SECRET: 'dev-user-token-secret-change-me-0123456789',
};

interface Stoppable {
  stop(): Promise<void>;
}

const stoppables: Stoppable[] = [];
const children: ChildProcess[] = [];

function say(line: string): void {
  process.stdout.write(`[dev] ${line}\n`);
}

function runChild(name: string, entry: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', entry], { cwd: ROOT, env, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (!shuttingDown) {
      say(`${name} exited (${signal ?? code}); stopping everything`);
      void shutdown(1);
    }
  });
  children.push(child);
  return child;
}

let shuttingDown = false;
async function shutdown(exitCode: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  say('stopping...');
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
  for (const service of stoppables.reverse()) await service.stop().catch(() => undefined);
  say('stopped');
  process.exit(exitCode);
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  let temporalAddress = process.env.TEMPORAL_ADDRESS;
  let uiUrl: string | undefined;
  let databaseUrl = process.env.DATABASE_URL;

  await Promise.all([
    (async () => {
      if (temporalAddress) return;
      const temporal = await startTemporalDevServer({
        port: Number(process.env.DEV_TEMPORAL_PORT ?? 7233),
        uiPort: Number(process.env.DEV_TEMPORAL_UI_PORT ?? 8233),
        dbFile: path.join(DATA, 'temporal.db'),
      });
      stoppables.push(temporal);
      temporalAddress = temporal.address;
      uiUrl = temporal.uiUrl;
    })(),
    (async () => {
      if (databaseUrl) return;
      const postgres = await startPostgres({ dataDir: path.join(DATA, 'postgres'), port: Number(process.env.DEV_POSTGRES_PORT ?? 54329) });
      stoppables.push(postgres);
      databaseUrl = postgres.url;
    })(),
  ]);

  const applied = await migrate(databaseUrl!);
  await seedDatabase(databaseUrl!);
  say(`database ${databaseUrl} (${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}; seed data present)`);
  say(`temporal ${temporalAddress}${uiUrl ? `, Web UI ${uiUrl}` : ''}`);

  const port = process.env.PORT ?? '3000';
  const env: NodeJS.ProcessEnv = {
    ...DEV_DEFAULTS,
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    PORT: port,
  };
  runChild('worker', 'worker/main.ts', env);
  runChild('api', 'api/main.ts', env);

  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('user-42')
    .setExpirationTime('30d')
    .sign(new TextEncoder().encode(env.USER_TOKEN_SECRET));
  say(`api http://127.0.0.1:${port}  (docs http://127.0.0.1:${port}/docs)`);
  if (!process.env.SERVICE_API_KEYS) {
    say('development credentials (set SERVICE_API_KEYS, ADMIN_API_KEYS, USER_TOKEN_SECRET to replace them):');
    say(`  service key  ${DEV_DEFAULTS.SERVICE_API_KEYS}`);
    say(`  admin key    ${DEV_DEFAULTS.ADMIN_API_KEYS}`);
  }
  say(`  user token for user-42  ${token}`);
  say('Ctrl-C stops everything.');
}

main().catch(async (error: unknown) => {
  process.stderr.write(`[dev] failed: ${(error as Error).message}\n`);
  await shutdown(1);
});
