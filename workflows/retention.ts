import { proxyActivities } from '@temporalio/workflow';
import type { RetentionActivities } from '../activities/retention';
import type { RetentionWorkflowInput, RetentionWorkflowResult } from './retention-contract';

const activities = proxyActivities<RetentionActivities>({
  // Each activity works in bounded batches (RETENTION_MAX_BATCHES_PER_RUN), so a run's work is bounded too.
  startToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: 5, initialInterval: '10 seconds' },
});

/**
 * The retention job (docs/operations.md → Retention), run by the `retention` Schedule: partitions first
 * (creating next months' partitions must never wait behind a long prune), then expired idempotency keys.
 * Both steps are idempotent: a retried or overlapping run finds less to do.
 */
export async function retentionWorkflow(_input: RetentionWorkflowInput): Promise<RetentionWorkflowResult> {
  const eventPartitions = await activities.maintainEventPartitions();
  const idempotencyKeys = await activities.pruneIdempotencyKeys();
  return { idempotencyKeys, eventPartitions };
}
