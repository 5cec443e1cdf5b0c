/**
 * PostgreSQL: finds the server binaries, creates the cluster when its data dir is new, and starts it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeExit, isExecutableFile, lastLines, run } from './commands';
import { DEFAULT_READY_TIMEOUT_MS, LOOPBACK, onFreePort, startService, type LogDestination } from './processes';

export const DATABASE_NAME = 'durable_billing';

/** No PostgreSQL server binaries on this machine; callers may fall back to something else (e.g. PGlite). */
export class PostgresNotFoundError extends Error {
  constructor(detail: string) {
    super(
      `PostgreSQL server binaries (initdb, postgres) not found: ${detail}. ` +
        'Install the Debian package `postgresql`, or set PG_BIN to the directory holding them.',
    );
    this.name = 'PostgresNotFoundError';
  }
}

const hasServerBinaries = (dir: string) =>
  isExecutableFile(path.join(dir, 'postgres')) && isExecutableFile(path.join(dir, 'initdb'));

/** $PG_BIN, else the newest /usr/lib/postgresql/<major>/bin (Debian layout), else `pg_config --bindir`. */
export async function findPostgresBinDir(): Promise<string> {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv) {
    if (hasServerBinaries(fromEnv)) return fromEnv;
    throw new PostgresNotFoundError(`PG_BIN=${fromEnv} lacks postgres or initdb`);
  }
  const debianRoot = '/usr/lib/postgresql';
  const majors = fs.existsSync(debianRoot) ? fs.readdirSync(debianRoot) : [];
  majors.sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
  for (const major of majors) {
    const dir = path.join(debianRoot, major, 'bin');
    if (hasServerBinaries(dir)) return dir;
  }
  const pgConfig = await run('pg_config', ['--bindir'], { timeoutMs: 10_000 });
  const bindir = pgConfig.stdout.trim();
  if (pgConfig.code === 0 && bindir && hasServerBinaries(bindir)) return bindir;
  throw new PostgresNotFoundError(`looked in PG_BIN, ${debianRoot}/*/bin and \`pg_config --bindir\``);
}

interface OsUser {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root; as root we run it as the `postgres` OS user. */
function postgresRunAs(): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const entry = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === 'postgres');
  if (!entry) {
    throw new Error('Running as root, PostgreSQL needs an unprivileged OS user `postgres` to run as; none exists (useradd --system postgres).');
  }
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

/** The first folder above `dir` that `user` cannot enter (folders not created yet are skipped: we create
 * them with the default mode). */
function unreachableFolder(user: OsUser, dir: string): { folder: string; mode: number } | undefined {
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(current);
    } catch {
      // Does not exist yet.
    }
    if (stat) {
      const searchable =
        stat.mode & 0o001 || (stat.gid === user.gid && stat.mode & 0o010) || (stat.uid === user.uid && stat.mode & 0o100);
      if (!searchable) return { folder: current, mode: stat.mode & 0o777 };
    }
    if (current === path.dirname(current)) return undefined;
  }
}

/** Where clusters go whose requested folder the `postgres` user cannot reach: /var/tmp survives reboots
 * (a dev cluster keeps its data), the OS temp dir is the fallback. */
const RELOCATION_ROOTS = ['/var/tmp', os.tmpdir()];

interface DataDirChoice {
  dataDir: string;
  /** Set when the cluster lives elsewhere than requested, and why. */
  relocation?: { requested: string; reason: string };
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to enter every folder above its data
 * dir. A clone in a private folder (a fresh `mktemp -d`, mode 700, or /root) is out of its reach; rather than
 * open that folder up, the cluster then lives in a folder of its own under /var/tmp, named after the requested
 * path (so the same clone finds the same cluster next time), and the caller says where.
 */
function chooseDataDir(requested: string, runAs: OsUser | undefined): DataDirChoice {
  if (!runAs) return { dataDir: requested };
  const blocked = unreachableFolder(runAs, requested);
  if (!blocked) return { dataDir: requested };
  const key = createHash('sha256').update(requested).digest('hex').slice(0, 12);
  for (const root of RELOCATION_ROOTS) {
    const dataDir = path.join(root, `durable-billing-postgres-${key}`, path.basename(requested));
    if (unreachableFolder(runAs, dataDir)) continue;
    return {
      dataDir,
      relocation: {
        requested,
        reason: `the \`postgres\` user cannot enter ${blocked.folder} (mode ${blocked.mode.toString(8)})`,
      },
    };
  }
  throw new Error(
    `PostgreSQL runs as the \`postgres\` user, which cannot enter ${blocked.folder} (mode ${blocked.mode.toString(8)}), ` +
      `nor any of ${RELOCATION_ROOTS.join(', ')}. Put the data dir elsewhere.`,
  );
}

/** Says, next to a relocated cluster, which path it stands in for (for whoever finds it in /var/tmp). */
async function recordOrigin(choice: DataDirChoice): Promise<void> {
  if (!choice.relocation) return;
  await fsp.mkdir(path.dirname(choice.dataDir), { recursive: true, mode: 0o755 });
  await fsp.writeFile(
    path.join(path.dirname(choice.dataDir), 'ORIGIN'),
    `PostgreSQL cluster of ${choice.relocation.requested} (durable-billing), kept here because ${choice.relocation.reason}.\n`,
  );
}

/** Creates the cluster when the data dir is new. Returns initdb's output for the log. */
async function initClusterIfNeeded(binDir: string, dataDir: string, runAs: OsUser | undefined, fast: boolean): Promise<string> {
  await fsp.mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) return '';
  const entries = await fsp.readdir(dataDir);
  if (entries.length > 0) {
    throw new Error(`${dataDir} is neither empty nor a PostgreSQL data directory (contains ${entries.slice(0, 5).join(', ')})`);
  }
  if (runAs) await fsp.chown(dataDir, runAs.uid, runAs.gid);
  const args = ['-D', dataDir, '--auth=trust', '--username=postgres', '-E', 'UTF8', '--locale=C'];
  // Skipping initdb's fsync saves seconds; an ephemeral cluster is thrown away after a crash anyway.
  if (fast) args.push('--no-sync');
  const result = await run(path.join(binDir, 'initdb'), args, { cwd: dataDir, uid: runAs?.uid, gid: runAs?.gid, timeoutMs: 120_000 });
  if (result.code !== 0) {
    throw new Error(`initdb ${args.join(' ')} failed (${describeExit(result)}):\n${lastLines(result.output, 20)}`);
  }
  return result.output;
}

/** A postmaster.pid left by a killed server blocks the next start when its PID now belongs to some other
 * process (PIDs are reused quickly in containers). Remove it unless a postgres really holds it. */
function removeStalePidFile(dataDir: string): void {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  let command = '';
  try {
    command = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    // No such process.
  }
  if (command === 'postgres') {
    throw new Error(`A PostgreSQL server (PID ${pid}) is already running on ${dataDir}; stop it first.`);
  }
  fs.rmSync(pidFile, { force: true });
}

/** Unix sockets have a ~107-byte path limit; a deep data dir gets a short socket dir in /tmp instead. */
async function socketDirFor(dataDir: string, port: number, runAs: OsUser | undefined): Promise<{ dir: string; cleanup: () => void }> {
  if (path.join(dataDir, `.s.PGSQL.${port}.lock`).length < 100) return { dir: dataDir, cleanup: () => undefined };
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pg-sock-'));
  if (runAs) await fsp.chown(dir, runAs.uid, runAs.gid);
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface PostgresOptions {
  /** The cluster directory (PGDATA). Created and initdb'd when missing or empty. As root, when the `postgres`
   * user cannot reach it, the cluster goes to /var/tmp/durable-billing-postgres-<hash of this path>/ instead
   * (LocalPostgres.relocatedFrom says so). */
  dataDir: string;
  /** 0/undefined picks a free port. */
  port?: number;
  /** Trade durability for speed (fsync off): for tests, whose clusters are thrown away (a relocated one
   * is deleted by stop()). */
  ephemeral?: boolean;
  /** Default: `<dataDir>/postgres.log`. */
  log?: LogDestination;
  /** Default 30 s. */
  readyTimeoutMs?: number;
}

export interface LocalPostgres {
  /** postgresql://postgres@127.0.0.1:PORT/durable_billing */
  url: string;
  port: number;
  /** Where the cluster is: the requested dir, or a reachable stand-in (see `relocatedFrom`). */
  dataDir: string;
  /** Set when the `postgres` user could not reach the requested dir: that dir, and why it was not used. */
  relocatedFrom?: { dataDir: string; reason: string };
  logFile?: string;
  pid: number;
  stop(): Promise<void>;
}

function postgresServerArgs(dataDir: string, port: number, socketDir: string, ephemeral: boolean): string[] {
  const settings = ['listen_addresses=127.0.0.1', 'max_connections=300'];
  if (ephemeral) settings.push('fsync=off', 'synchronous_commit=off', 'full_page_writes=off');
  return ['-D', dataDir, '-p', String(port), '-k', socketDir, ...settings.flatMap((setting) => ['-c', setting])];
}

/** Ready means a client can connect (not "the database system is starting up"); then our database exists. */
async function postgresIsReady(port: number): Promise<void> {
  const { Client } = await import('pg');
  const client = new Client({ host: LOOPBACK, port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE_NAME]);
    if (existing.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE ${DATABASE_NAME}`);
      } catch (error) {
        // 42P04 duplicate_database: another process created it between our check and our CREATE.
        if ((error as { code?: string }).code !== '42P04') throw error;
      }
    }
  } finally {
    await client.end();
  }
}

export async function startPostgres(options: PostgresOptions): Promise<LocalPostgres> {
  const binDir = await findPostgresBinDir();
  const runAs = postgresRunAs();
  const choice = chooseDataDir(path.resolve(options.dataDir), runAs);
  const dataDir = choice.dataDir;
  // Parents get the default mode (0700 is only for the data dir itself, else `postgres` cannot reach it).
  await fsp.mkdir(path.dirname(dataDir), { recursive: true });
  await recordOrigin(choice);
  const initOutput = await initClusterIfNeeded(binDir, dataDir, runAs, options.ephemeral ?? false);
  removeStalePidFile(dataDir);
  const log = options.log ?? path.join(dataDir, 'postgres.log');
  if (initOutput) {
    if (typeof log === 'function') initOutput.trimEnd().split('\n').forEach(log);
    else if (log !== 'inherit') await fsp.appendFile(log, `=== initdb\n${initOutput}`);
  }

  return onFreePort(options.port, async (port) => {
    const socket = await socketDirFor(dataDir, port, runAs);
    try {
      const service = await startService(
        {
          name: 'postgres',
          command: path.join(binDir, 'postgres'),
          args: postgresServerArgs(dataDir, port, socket.dir, options.ephemeral ?? false),
          log,
          cwd: dataDir,
          uid: runAs?.uid,
          gid: runAs?.gid,
          // SIGINT = fast shutdown (disconnect clients, checkpoint); SIGQUIT = immediate, then SIGKILL.
          stopSignals: ['SIGINT', 'SIGQUIT'],
          // Immediate shutdown: the postmaster still takes its backends down with it.
          emergencySignal: 'SIGQUIT',
        },
        () => postgresIsReady(port),
        options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      );
      return {
        url: `postgresql://postgres@${LOOPBACK}:${port}/${DATABASE_NAME}`,
        port,
        dataDir,
        ...(choice.relocation ? { relocatedFrom: { dataDir: choice.relocation.requested, reason: choice.relocation.reason } } : {}),
        logFile: service.logFile,
        pid: service.pid,
        stop: async () => {
          await service.stop();
          socket.cleanup();
          // A throwaway cluster moved out of its caller's folder would outlive that folder's cleanup.
          if (choice.relocation && options.ephemeral) fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
        },
      };
    } catch (error) {
      socket.cleanup();
      throw error;
    }
  });
}
