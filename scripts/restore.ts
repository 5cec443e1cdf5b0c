/**
 * `npm run restore`: loads a backup taken by `npm run backup` into an EMPTY database (pg_restore, in one
 * transaction: all or nothing), then checks the restored row counts against the manifest.
 *
 *   DATABASE_URL=postgresql://.../billing_restored npm run restore -- backups/billing-<time>.manifest.json
 *
 * Refuses a database that already has tables: a restore never merges into live data. Create the
 * database first (createdb, or CREATE DATABASE). What to do after a restore (start the worker before
 * the API, run the sweep and the reconciliation) is in docs/operations.md, "Backup and restore".
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { findPostgresBinDir } from './services';
import { describeExit, lastLines, run } from './services/commands';
import { describeSource, libpqUrl, type BackupManifest } from './backup';

export interface RestoreOptions {
  manifestFile: string;
  databaseUrl: string;
}

export interface RestoreResult {
  manifest: BackupManifest;
  rowCounts: Record<string, number>;
}

async function countRows(client: Client, tables: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const result = await client.query<{ count: string }>(`SELECT count(*) AS count FROM public.${client.escapeIdentifier(table)}`);
    counts[table] = Number(result.rows[0]!.count);
  }
  return counts;
}

export async function restoreDatabase(options: RestoreOptions): Promise<RestoreResult> {
  const manifest = JSON.parse(fs.readFileSync(options.manifestFile, 'utf8')) as BackupManifest;
  const dumpFile = path.join(path.dirname(options.manifestFile), manifest.dumpFile);
  const sha256 = createHash('sha256').update(fs.readFileSync(dumpFile)).digest('hex');
  if (sha256 !== manifest.sha256) throw new Error(`${dumpFile} does not match its manifest (sha256 ${sha256}, manifest says ${manifest.sha256}).`);

  const url = libpqUrl(options.databaseUrl);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const existing = await client.query<{ count: string }>("SELECT count(*) AS count FROM pg_tables WHERE schemaname = 'public'");
    if (Number(existing.rows[0]!.count) > 0) {
      throw new Error(`${describeSource(options.databaseUrl)} already has tables: restore only into an empty database.`);
    }
    const binDir = await findPostgresBinDir();
    const restore = await run(
      path.join(binDir, 'pg_restore'),
      ['--single-transaction', '--exit-on-error', '--no-owner', '--no-privileges', `--dbname=${url}`, dumpFile],
      { timeoutMs: 6 * 60 * 60_000 },
    );
    if (restore.code !== 0) throw new Error(`pg_restore failed (${describeExit(restore)}):\n${lastLines(restore.output, 20)}`);
    // Fresh statistics: the planner has none for restored tables until autovacuum gets to them.
    await client.query('ANALYZE');
    const rowCounts = await countRows(client, Object.keys(manifest.rowCounts));
    const differing = Object.keys(manifest.rowCounts).filter((table) => rowCounts[table] !== manifest.rowCounts[table]);
    if (differing.length > 0) {
      throw new Error(`restored row counts differ from the manifest: ${differing.map((t) => `${t} ${rowCounts[t]} != ${manifest.rowCounts[t]}`).join(', ')}`);
    }
    return { manifest, rowCounts };
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  const manifestFile = process.argv[2];
  if (!databaseUrl) throw new Error('DATABASE_URL is not set: the empty database to restore into.');
  if (!manifestFile) throw new Error('usage: npm run restore -- <backup>.manifest.json');
  const { manifest } = await restoreDatabase({ manifestFile, databaseUrl });
  process.stderr.write(
    `restored ${manifest.dumpFile} (taken ${manifest.takenAt}, last ledger id ${manifest.lastLedgerId ?? '(none)'}) into ${describeSource(databaseUrl)}; row counts match the manifest\n`,
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`restore failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
