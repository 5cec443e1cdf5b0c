/** The gateway reconciliation workflow's contract: ids, input, the schedule's id. Workflow-safe. */
export const reconciliationWorkflowId = (runId: string): string => `gateway-reconciliation-${runId}`;
/** The Temporal Schedule the worker creates at start (idempotently). */
export const RECONCILIATION_SCHEDULE_ID = 'gateway-reconciliation-daily';

export interface ReconciliationWorkflowInput {
  /** `admin:<credential>` or `schedule`. */
  trigger: string;
  /** Channel codes; default every enabled Stripe and gateway channel. */
  channels?: string[];
  /** The period; default the `lookbackHours` before the run starts. */
  from?: string;
  to?: string;
  /** Default 26: a daily run overlaps the previous one a little, so nothing falls between. */
  lookbackHours?: number;
  /** Report id for a single-channel run (admin-triggered: derived from the Idempotency-Key). */
  reportId?: string;
}

export interface ReconciliationWorkflowResult {
  reportIds: string[];
}
