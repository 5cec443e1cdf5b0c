/**
 * The daily gateway reconciliation as a Temporal Schedule, created at worker start. Idempotent: a
 * schedule that already exists is left as it is (an operator may have paused or retimed it).
 */
import { ScheduleAlreadyRunning, type Client } from '@temporalio/client';
import { RECONCILIATION_SCHEDULE_ID, type ReconciliationWorkflowInput } from '../../workflows/reconciliation-contract';

export async function ensureReconciliationSchedule(client: Client, taskQueue: string, options: { cron?: string; scheduleId?: string } = {}): Promise<'created' | 'exists'> {
  try {
    await client.schedule.create({
      scheduleId: options.scheduleId ?? RECONCILIATION_SCHEDULE_ID,
      spec: { cronExpressions: [options.cron ?? '30 1 * * *'] },
      action: {
        type: 'startWorkflow',
        workflowType: 'gatewayReconciliationWorkflow',
        taskQueue,
        args: [{ trigger: 'schedule', lookbackHours: 26 } satisfies ReconciliationWorkflowInput],
      },
      policies: { overlap: 'SKIP', catchupWindow: '1 day' },
    });
    return 'created';
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) return 'exists';
    throw error;
  }
}
