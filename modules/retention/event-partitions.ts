/**
 * The event log's monthly partitions (prisma/migrations/20270205000000_retention): the months ahead are
 * created before they are needed, and a month past the retention age leaves as a whole — its events,
 * their webhook deliveries, the deliveries' attempts and the notices made from them — with DROP TABLE,
 * never a bulk DELETE.
 *
 * A month is dropped only when nothing in it is still needed; otherwise it is held (kept whole, with the
 * reason reported) and looked at again on the next run:
 * - an event not yet relayed (its hand-over to Temporal is still to come);
 * - a delivery still pending (its workflow is running or about to);
 * - a dead letter (a failed delivery) of an endpoint that still exists: an operator may replay it.
 *   Deleting the endpoint, or replaying it to success, releases it;
 * - a notice whose mail is still pending (its notification run still retries).
 * Holding the whole month keeps every row where the API and the workflows look for it; moving a needed
 * event elsewhere would change its time, which is its webhook timestamp and its partition key.
 */
import type { Database } from '../../platform/database';
import { sqlPool } from '../../platform/database';
import { countPartitionRun } from './metrics';

/** PostgreSQL's SQLSTATE when lock_timeout ran out. */
const LOCK_NOT_AVAILABLE = '55P03';

/** Parent before children: the tables that share the monthly partitions. */
const PARTITIONED_TABLES = ['events', 'webhook_deliveries', 'webhook_delivery_attempts', 'notifications'] as const;

export interface PartitionOptions {
  /** A month is dropped once its END is this many days in the past. */
  retentionDays: number;
  /** Months created ahead of the current one. */
  aheadMonths: number;
  /** How long the drop may wait for its locks before giving up until the next run. */
  lockTimeoutMs: number;
}

export interface PartitionResult {
  created: string[];
  dropped: string[];
  held: Array<{ partition: string; reason: string }>;
}

/** The first instant of the UTC month `monthsLater` months after `at`'s. */
function monthStart(at: Date, monthsLater = 0): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + monthsLater, 1));
}

const suffixOf = (month: Date): string => `p${month.getUTCFullYear()}${String(month.getUTCMonth() + 1).padStart(2, '0')}`;

/** The months that have an events partition, from its name (`events_pYYYYMM`, made by ensure_event_partitions). */
async function existingMonths(db: Database): Promise<Date[]> {
  const { rows } = await sqlPool(db).query<{ name: string }>(`
    SELECT c.relname AS name FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'public.events'::regclass`);
  return rows
    .map((row) => /^events_p(\d{4})(\d{2})$/.exec(row.name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1)))
    .sort((a, b) => a.getTime() - b.getTime());
}

/** Why a month's rows are still needed (the first reason found), or null. Runs on the month's own partitions. */
const HELD_CHECKS: Array<{ reason: string; sql: (suffix: string) => string }> = [
  { reason: 'events not yet relayed', sql: (s) => `SELECT 1 FROM events_${s} WHERE relayed_at IS NULL LIMIT 1` },
  { reason: 'deliveries still pending', sql: (s) => `SELECT 1 FROM webhook_deliveries_${s} WHERE status = 'pending' LIMIT 1` },
  {
    reason: 'dead letters of existing endpoints (replay them, or delete the endpoint)',
    sql: (s) => `SELECT 1 FROM webhook_deliveries_${s} d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.status = 'failed' AND e.deleted_at IS NULL LIMIT 1`,
  },
  { reason: 'notice mails still pending', sql: (s) => `SELECT 1 FROM notifications_${s} WHERE email_status = 'pending' LIMIT 1` },
];

/**
 * Drops one month if nothing in it is needed, in one transaction: its partitions are locked against
 * writes first (SHARE: reads go on), so nothing can become needed between the check and the drop; the
 * drop itself takes each parent's lock for a moment. A lock not had within lockTimeoutMs gives up
 * (the next run tries again) rather than queue the API's writes behind it.
 */
async function dropMonthUnlessNeeded(db: Database, month: Date, lockTimeoutMs: number): Promise<string | null> {
  const suffix = suffixOf(month);
  const partitions = [...PARTITIONED_TABLES].reverse().map((table) => `${table}_${suffix}`);
  const client = await sqlPool(db).connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`);
    await client.query(`LOCK TABLE ${partitions.join(', ')} IN SHARE MODE`);
    for (const check of HELD_CHECKS) {
      if ((await client.query(check.sql(suffix))).rowCount) {
        await client.query('ROLLBACK');
        return check.reason;
      }
    }
    await client.query(`DROP TABLE ${partitions.join(', ')}`);
    await client.query('COMMIT');
    return null;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Creates the months ahead, then drops each expired month that holds nothing still needed. */
export async function maintainEventPartitions(db: Database, options: PartitionOptions, now: Date = new Date()): Promise<PartitionResult> {
  const { rows } = await sqlPool(db).query<{ name: string }>('SELECT ensure_event_partitions($1, $2) AS name', [
    monthStart(now),
    monthStart(now, options.aheadMonths + 1),
  ]);
  const result: PartitionResult = { created: rows.map((row) => row.name), dropped: [], held: [] };
  const cutoff = now.getTime() - options.retentionDays * 86_400_000;
  for (const month of await existingMonths(db)) {
    // Expired when the month's last instant is older than the retention age.
    if (monthStart(month, 1).getTime() > cutoff) break;
    const reason = await dropMonthUnlessNeeded(db, month, options.lockTimeoutMs).catch((error: unknown) => {
      if ((error as { code?: string }).code === LOCK_NOT_AVAILABLE) return `locks not had within ${options.lockTimeoutMs} ms (busy); the next run tries again`;
      throw error;
    });
    const partitions = PARTITIONED_TABLES.map((table) => `${table}_${suffixOf(month)}`);
    if (reason === null) result.dropped.push(...partitions);
    else result.held.push({ partition: `events_${suffixOf(month)}`, reason });
  }
  countPartitionRun(result.dropped.length / PARTITIONED_TABLES.length, result.held.length);
  return result;
}
