/** Starts an admin-triggered reconciliation run and waits for its report (bounded: 503 when Temporal does not answer). */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { BillingError } from '../../platform/errors';
import type { gatewayReconciliationWorkflow } from '../../workflows/reconciliation';
import { reconciliationWorkflowId } from '../../workflows/reconciliation-contract';

export async function runReconciliation(
  temporal: Client,
  taskQueue: string,
  timeoutMs: number,
  request: { reportId: string; channel: string; from: string; to: string; trigger: string },
): Promise<string> {
  try {
    const result = await temporal.withDeadline(Date.now() + timeoutMs, async () => {
      const handle = await temporal.workflow.start<typeof gatewayReconciliationWorkflow>('gatewayReconciliationWorkflow', {
        workflowId: reconciliationWorkflowId(request.reportId),
        taskQueue,
        args: [{ trigger: request.trigger, channels: [request.channel], from: request.from, to: request.to, reportId: request.reportId }],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      return handle.result();
    });
    return result.reportIds[0] ?? request.reportId;
  } catch (error) {
    if (error instanceof BillingError) throw error;
    if (error instanceof WorkflowFailedError) {
      const cause = error.cause as { message?: string; cause?: { message?: string } } | undefined;
      throw new BillingError('PAYMENT_PROVIDER_ERROR', `Reconciliation failed: ${cause?.cause?.message ?? cause?.message ?? 'the gateway could not be asked'}`);
    }
    throw new BillingError('SERVICE_UNAVAILABLE', 'The reconciliation could not be run now; retry with the same Idempotency-Key.', { retryable: true });
  }
}
