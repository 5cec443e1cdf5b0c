/**
 * What PostgreSQL wrote and which background work ran during a phase: WAL (bytes, records, full-page
 * images) from pg_stat_wal, autovacuum/autoanalyze runs from pg_stat_user_tables, checkpoints from
 * pg_stat_bgwriter. Printed beside the CPU per operation, it tells a run whose database CPU per deduct
 * moved (the same code measured 0.31-0.50 ms) why it moved.
 */
import type { Client as PgClient } from 'pg';

export interface DatabaseWork {
  walBytes: number;
  walRecords: number;
  fullPageImages: number;
  autovacuumRuns: number;
  checkpoints: number;
}

export async function databaseWork(admin: PgClient): Promise<DatabaseWork> {
  const { rows } = await admin.query<Record<keyof DatabaseWork, string>>(`
    SELECT w.wal_bytes AS "walBytes", w.wal_records AS "walRecords", w.wal_fpi AS "fullPageImages",
           (SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_user_tables) AS "autovacuumRuns",
           (SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter) AS "checkpoints"
    FROM pg_stat_wal w`);
  const row = rows[0]!;
  return {
    walBytes: Number(row.walBytes),
    walRecords: Number(row.walRecords),
    fullPageImages: Number(row.fullPageImages),
    autovacuumRuns: Number(row.autovacuumRuns),
    checkpoints: Number(row.checkpoints),
  };
}

/** Per operation over `operations` (the phase's warm-up included), plus the background work's counts. */
export function databaseWorkLine(before: DatabaseWork, after: DatabaseWork, operations: number): string {
  const per = (key: keyof DatabaseWork) => (after[key] - before[key]) / Math.max(operations, 1);
  return (
    `WAL ${per('walBytes').toFixed(0)} B, ${per('walRecords').toFixed(1)} records, ${per('fullPageImages').toFixed(2)} full-page images; ` +
    `autovacuum/analyze runs ${after.autovacuumRuns - before.autovacuumRuns}, checkpoints ${after.checkpoints - before.checkpoints}`
  );
}
