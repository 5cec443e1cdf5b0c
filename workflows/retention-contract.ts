/** The retention job's contract: its Schedule's id (after the deployment's SCHEDULE_ID_PREFIX), input and result. Workflow-safe. */
export const RETENTION_SCHEDULE_SUFFIX = 'retention';

export interface RetentionWorkflowInput {
  /** `schedule`, or `admin:<credential>` when run by hand. */
  trigger: string;
}

export interface KeyPruneSummary {
  pruned: number;
  batches: number;
  complete: boolean;
}

export interface PartitionMaintenanceSummary {
  /** Partitions created ahead of time by this run (table.partition names). */
  created: string[];
  /** Partitions past the retention age dropped by this run. */
  dropped: string[];
  /** Partitions past the retention age kept because a row in them is still needed, with the reason. */
  held: Array<{ partition: string; reason: string }>;
}

export interface RetentionWorkflowResult {
  idempotencyKeys: KeyPruneSummary;
  eventPartitions: PartitionMaintenanceSummary;
}
