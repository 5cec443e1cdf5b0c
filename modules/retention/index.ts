/**
 * The public face of modules/retention: what other modules, api/, activities/, worker/ and prisma/ may import.
 * Everything else in this folder is private to it (dependency-cruiser checks that, see .dependency-cruiser.cjs).
 */
export { loadRetentionConfig, retentionConfigShape } from './config';
export type { RetentionConfig } from './config';
export { maintainEventPartitions } from './event-partitions';
export type { PartitionOptions, PartitionResult } from './event-partitions';
export { pruneExpiredKeys } from './idempotency-keys';
export type { KeyPruneOptions, KeyPruneResult } from './idempotency-keys';
export { ensureRetentionSchedule, retentionScheduleId } from './schedule';
