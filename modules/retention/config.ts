import { z } from '../../platform/zod';
import { envWholeNumber } from '../../platform/schemas';

/**
 * Retention settings from the environment (merged into modules/config.ts, so a bad value stops the API
 * and the worker at start). docs/operations.md → Retention says what each one keeps and why.
 */
export const retentionConfigShape = {
  /**
   * How long an Idempotency-Key is honoured (its first answer replayed) before the retention job may
   * prune it; a retry after that is judged afresh. Default 72 hours: Stripe's 24 hours, tripled so a
   * client retrying across a long weekend's outage still gets its first answer. A key whose answer names
   * a reservation or an order still open, or whose work is still under way, is kept past the window.
   */
  IDEMPOTENCY_KEY_RETENTION_HOURS: envWholeNumber({ min: 1, max: 24 * 365, default: 72 }),
  /**
   * Age after which a month of events leaves with its webhook deliveries, their attempts and its notices
   * (a month goes once its last day is this old). Default 90 days: a quarter of delivery history for
   * support questions and replays, far past the webhook retry schedule (~28 hours) and the reports'
   * windows; the ledger, which is the books, is never deleted.
   */
  EVENT_RETENTION_DAYS: envWholeNumber({ min: 7, max: 3650, default: 90 }),
  /** Monthly partitions kept ready ahead of the current month, so a stopped job cannot stop event writes for that long. */
  EVENT_PARTITIONS_AHEAD_MONTHS: envWholeNumber({ min: 1, max: 24, default: 6 }),
  /** How long dropping a month may wait for its locks before giving up until the next run (never queueing the API's writes for long). */
  RETENTION_LOCK_TIMEOUT_MS: envWholeNumber({ min: 100, max: 60_000, default: 2_000 }),
  /** Keys deleted per statement (one short transaction each), so pruning never holds long locks. */
  RETENTION_BATCH_SIZE: envWholeNumber({ min: 100, max: 100_000, default: 5_000 }),
  /** Batches one run may delete at most; the next run goes on where it stopped. */
  RETENTION_MAX_BATCHES_PER_RUN: envWholeNumber({ min: 1, max: 100_000, default: 200 }),
  /** Minutes between runs of the retention Schedule (default hourly). */
  RETENTION_EVERY_MINUTES: envWholeNumber({ min: 1, max: 24 * 60, default: 60 }),
};

const retentionConfigSchema = z.object(retentionConfigShape);
export type RetentionConfig = z.infer<typeof retentionConfigSchema>;

/** The retention settings of this process's environment (the composed config validated them at start). */
export function loadRetentionConfig(env: NodeJS.ProcessEnv = process.env): RetentionConfig {
  const result = retentionConfigSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid retention configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
