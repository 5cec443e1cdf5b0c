/**
 * Re-driving a stuck order from a report: a `paid_not_provisioned` mismatch means the gateway has the
 * money and our order never completed (lost callback, a run that stopped). The gateway's payment is
 * delivered to the order's workflow by signal-with-start, exactly as a webhook would: a waiting run
 * wakes up, a closed one is followed by a new run that reads the order's status and resumes from
 * there. Provisioning stays exactly once (one payment per order, idempotent steps), so re-driving
 * twice changes nothing more.
 */
import { BillingError } from '../../platform/errors';
import type { GatewayRecord } from './rules/reconciliation';
import type { Database } from '../../platform/database';
import type { OrderWorkflowClient } from '../orders';
import { mismatchView, type MismatchView } from './views';

export async function redriveMismatch(db: Database, orders: OrderWorkflowClient, reportId: string, mismatchId: string, actor: string): Promise<MismatchView> {
  const mismatch = await db.reconciliationMismatch.findFirst({ where: { id: mismatchId, reportId } });
  if (!mismatch) throw new BillingError('NOT_FOUND', `Mismatch ${mismatchId} not found in report ${reportId}.`, { reportId, mismatchId });
  const view = mismatchView(mismatch);
  if (!view.redrivable || !mismatch.orderId) {
    throw new BillingError('MISMATCH_NOT_REDRIVABLE', `A ${mismatch.kind} mismatch cannot be re-driven; only paid_not_provisioned with a known order.`, { kind: mismatch.kind });
  }
  const order = await db.order.findUnique({ where: { id: mismatch.orderId }, include: { channel: true } });
  if (!order) throw new BillingError('NOT_FOUND', `Order ${mismatch.orderId} not found.`, { orderId: mismatch.orderId });
  const theirs = mismatch.theirs as unknown as GatewayRecord;
  await orders.deliverPayment(order.id, order.userId, {
    outcome: 'succeeded',
    source: order.channel.kind,
    externalId: theirs.externalId,
    amountMinor: theirs.amountMinor,
    currency: theirs.currency,
    actor,
    note: `re-driven from reconciliation report ${reportId}`,
    eventId: `reconciliation:${mismatchId}`,
  });
  await db.reconciliationMismatch.updateMany({ where: { id: mismatchId, redrivenAt: null }, data: { redrivenAt: new Date(), redrivenBy: actor } });
  return mismatchView(await db.reconciliationMismatch.findUniqueOrThrow({ where: { id: mismatchId } }));
}
