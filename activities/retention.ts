/** Activities of the retention job (workflows/retention.ts): each works in bounded steps and is idempotent. */
import { Context } from '@temporalio/activity';
import type { Database } from '../platform/database';
import { loadRetentionConfig, maintainEventPartitions, pruneExpiredKeys, type RetentionConfig } from '../modules/retention';

export function createRetentionActivities({ db, retention }: { db: Database; retention?: RetentionConfig }) {
  const config = (): RetentionConfig => retention ?? loadRetentionConfig();
  return {
    async pruneIdempotencyKeys() {
      const settings = config();
      const result = await pruneExpiredKeys(db, {
        retentionHours: settings.IDEMPOTENCY_KEY_RETENTION_HOURS,
        batchSize: settings.RETENTION_BATCH_SIZE,
        maxBatches: settings.RETENTION_MAX_BATCHES_PER_RUN,
      });
      Context.current().log.info('retention: idempotency keys pruned', { ...result });
      return result;
    },
    async maintainEventPartitions() {
      const settings = config();
      const result = await maintainEventPartitions(db, {
        retentionDays: settings.EVENT_RETENTION_DAYS,
        aheadMonths: settings.EVENT_PARTITIONS_AHEAD_MONTHS,
        lockTimeoutMs: settings.RETENTION_LOCK_TIMEOUT_MS,
      });
      const log = Context.current().log;
      log.info('retention: event partitions maintained', { created: result.created, dropped: result.dropped });
      for (const held of result.held) log.warn('retention: expired event partition held', held);
      return result;
    },
  };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
