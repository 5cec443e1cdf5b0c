import { proxyActivities, uuid4 } from '@temporalio/workflow';
import type { ReconciliationActivities } from '../activities/reconciliation';
import type { ReconciliationWorkflowInput, ReconciliationWorkflowResult } from './reconciliation-contract';

const activities = proxyActivities<ReconciliationActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5, initialInterval: '2 seconds' },
});

/**
 * Gateway reconciliation: one report per channel for the period. Started by the daily Schedule or by
 * an admin. Each channel's report id is fixed before its activity runs, so a retried activity finds
 * the report it already stored instead of writing a second one.
 */
export async function gatewayReconciliationWorkflow(input: ReconciliationWorkflowInput): Promise<ReconciliationWorkflowResult> {
  const to = input.to ?? new Date(Date.now()).toISOString();
  const from = input.from ?? new Date(Date.parse(to) - (input.lookbackHours ?? 26) * 3_600_000).toISOString();
  const channels = input.channels ?? (await activities.listReconcilableChannels());
  const reportIds: string[] = [];
  for (const channelCode of channels) {
    const reportId = channels.length === 1 && input.reportId ? input.reportId : uuid4();
    const report = await activities.reconcileChannel({ reportId, channelCode, from, to, trigger: input.trigger });
    reportIds.push(report.id);
  }
  return { reportIds };
}
