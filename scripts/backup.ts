/**
 * `npm run backup`: a logical backup of the billing database (pg_dump, custom format) and a manifest
 * beside it that says what the dump holds: when it was taken, the last ledger entry id, and the row
 * count of every table, all read in the very snapshot pg_dump dumps (pg_export_snapshot), so the
 * manifest describes the dump exactly, however busy the database is.
 *
 *   DATABASE_URL=postgresql://... npm run backup -- [--out DIR]       (default DIR: ./backups)
 *
 * Writes DIR/billing-<time>.dump and DIR/billing-<time>.manifest.json; prints the manifest's path.
 * The production commands (pg_dump alone, WAL archiving) are in docs/operations.md, "Backup and restore".
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { findPostgresBinDir } from './services';
import { describeExit, lastLines, run } from './services/commands';

export const MANIFEST_VERSION = 1;

export interface BackupManifest {
  manifestVersion: number;
  /** When the snapshot was taken (the database's clock): the recovery point. */
  takenAt: string;
  /** The dump file's name, beside the manifest. */
  dumpFile: string;
  format: 'pg_dump custom';
  sha256: string;
  bytes: number;
  serverVersion: string;
  /** Host, port and database dumped (never the password). */
  source: string;
  /** The newest credit_ledger_entries id in the dump (null: no entries): every entry after it was written after the backup. */
  lastLedgerId: string | null;
  /** Exact row counts of every table in the dump's snapshot. */
  rowCounts: Record<string, number>;
}

/** libpq (pg_dump, pg_restore) refuses parameters it does not know; Prisma's ones are dropped. */
export function libpqUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  for (const prismaOnly of ['schema', 'connection_limit', 'pool_timeout', 'pgbouncer', 'statement_cache_size', 'socket_timeout']) {
    url.searchParams.delete(prismaOnly);
  }
  return url.toString();
}

export function describeSource(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  return `${url.hostname}:${url.port || '5432'}${url.pathname}`;
}

async function tableRowCounts(client: Client): Promise<Record<string, number>> {
  const tables = await client.query<{ name: string }>(
    "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables.rows) {
    const result = await client.query<{ count: string }>(`SELECT count(*) AS count FROM public.${name}`);
    counts[name.replace(/"/g, '')] = Number(result.rows[0]!.count);
  }
  return counts;
}

export interface BackupOptions {
  databaseUrl: string;
  outDir: string;
  /** File name stem; default billing-<time>. */
  name?: string;
}

export async function backupDatabase(options: BackupOptions): Promise<{ manifestFile: string; dumpFile: string; manifest: BackupManifest }> {
  const binDir = await findPostgresBinDir();
  const url = libpqUrl(options.databaseUrl);
  fs.mkdirSync(options.outDir, { recursive: true });
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    // One snapshot for the manifest and the dump: the counts are those of the dumped data.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await client.query<{ snapshot: string; taken_at: Date; version: string }>(
      "SELECT pg_export_snapshot() AS snapshot, now() AS taken_at, current_setting('server_version') AS version",
    );
    const { snapshot, taken_at: takenAt, version } = rows[0]!;
    const stem = options.name ?? `billing-${takenAt.toISOString().replace(/[:.]/g, '-')}`;
    const dumpFile = path.join(options.outDir, `${stem}.dump`);
    const lastLedger = await client.query<{ id: string | null }>('SELECT max(id)::text AS id FROM credit_ledger_entries');
    const rowCounts = await tableRowCounts(client);
    const dump = await run(path.join(binDir, 'pg_dump'), ['--format=custom', `--snapshot=${snapshot}`, '--no-owner', '--no-privileges', `--file=${dumpFile}`, `--dbname=${url}`], {
      timeoutMs: 6 * 60 * 60_000,
    });
    if (dump.code !== 0) throw new Error(`pg_dump failed (${describeExit(dump)}):\n${lastLines(dump.output, 20)}`);
    const content = fs.readFileSync(dumpFile);
    const manifest: BackupManifest = {
      manifestVersion: MANIFEST_VERSION,
      takenAt: takenAt.toISOString(),
      dumpFile: path.basename(dumpFile),
      format: 'pg_dump custom',
      sha256: createHash('sha256').update(content).digest('hex'),
      bytes: content.length,
      serverVersion: version,
      source: describeSource(options.databaseUrl),
      lastLedgerId: lastLedger.rows[0]!.id,
      rowCounts,
    };
    const manifestFile = path.join(options.outDir, `${stem}.manifest.json`);
    fs.writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
    return { manifestFile, dumpFile, manifest };
  } finally {
    await client.query('COMMIT').catch(() => undefined);
    await client.end();
  }
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set: the database to back up.');
  const { manifestFile, manifest } = await backupDatabase({ databaseUrl, outDir: argument('--out') ?? 'backups' });
  process.stdout.write(`${manifestFile}\n`);
  process.stderr.write(`backed up ${manifest.source} at ${manifest.takenAt}: last ledger id ${manifest.lastLedgerId ?? '(none)'}, ${manifest.bytes} bytes\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`backup failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
