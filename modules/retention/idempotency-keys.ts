/**
 * Idempotency keys expire: a record older than the retention window is deleted in bounded batches, so
 * a retry after the window is judged afresh (as Stripe does once it prunes a key). The window is a
 * minimum, and pruning is its only boundary: the store (platform/idempotency/store.ts) and the SQL
 * functions that claim keys on the hot paths treat every record they find as live. Judging expiry at
 * lookup would put the "still needed" test below on every deduct and reserve, in six SQL functions, for
 * the sake of answering afresh a few minutes sooner; a key honoured a little longer than its window is
 * still a correct answer, one judged afresh too early would not be.
 *
 * Kept past the window, whatever their age:
 * - a claim still in progress (status 0): its work is under way in a workflow, and the retry that picks
 *   up its answer needs the claim;
 * - a key whose first answer names (by its `id`, or its `reservation.id`) a reservation still held or an
 *   order still open (awaiting payment, paid, provisioning): such keys guard long-running work, and a
 *   retry must keep answering with the same reservation or order. Once it settles, the key expires with
 *   the next run.
 */
import type { Database } from '../../platform/database';
import { sqlPool } from '../../platform/database';
import { countPrunedKeys } from './metrics';

export interface KeyPruneOptions {
  retentionHours: number;
  batchSize: number;
  maxBatches: number;
}

export interface KeyPruneResult {
  /** Records deleted by this run. */
  pruned: number;
  batches: number;
  /** false: the run stopped at maxBatches with expired keys left; the next run goes on. */
  complete: boolean;
}

/**
 * One batch: the oldest expired records not still needed, locked without waiting (a request holding one
 * is retrying it right now: it is left for the next run), deleted in one statement. The candidate scan
 * walks idempotency_records_created_at_idx from the oldest and skips the few kept records.
 */
const PRUNE_BATCH = {
  name: 'prune_idempotency_keys',
  text: `
    WITH expired AS (
      SELECT r.scope, r.key
      FROM idempotency_records r
      CROSS JOIN LATERAL (SELECT COALESCE(r.response_text::jsonb, r.response_body) AS answer) a
      CROSS JOIN LATERAL (SELECT COALESCE(a.answer ->> 'id', a.answer -> 'reservation' ->> 'id') AS answered_id) named
      CROSS JOIN LATERAL (
        SELECT CASE WHEN named.answered_id ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
                    THEN named.answered_id::uuid END AS subject_id
      ) subject
      WHERE r.created_at < $1
        AND r.status_code <> 0
        AND (subject.subject_id IS NULL OR (
          NOT EXISTS (SELECT 1 FROM reservations s WHERE s.id = subject.subject_id AND s.status = 'held')
          AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = subject.subject_id AND o.status IN ('pending_payment', 'paid', 'provisioning'))
        ))
      ORDER BY r.created_at
      LIMIT $2
      FOR UPDATE OF r SKIP LOCKED
    )
    DELETE FROM idempotency_records r USING expired e
    WHERE r.scope = e.scope AND r.key = e.key`,
} as const;

/** Deletes expired keys, batch after batch, until none is left or the run's bound is reached. */
export async function pruneExpiredKeys(db: Database, options: KeyPruneOptions, now: Date = new Date()): Promise<KeyPruneResult> {
  const cutoff = new Date(now.getTime() - options.retentionHours * 3_600_000);
  let pruned = 0;
  for (let batch = 1; batch <= options.maxBatches; batch += 1) {
    const { rowCount } = await sqlPool(db).query({ ...PRUNE_BATCH, values: [cutoff, options.batchSize] });
    pruned += rowCount ?? 0;
    countPrunedKeys(rowCount ?? 0);
    if ((rowCount ?? 0) < options.batchSize) return { pruned, batches: batch, complete: true };
  }
  return { pruned, batches: options.maxBatches, complete: false };
}
