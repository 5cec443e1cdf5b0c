/** From a verified payment notification to the order workflow: store once, then signal (signal-with-start). */
import type { Database } from '../../platform/database';
import { markSignalled, storeEvent, type WebhookDelivery } from '../payments';
import type { OrderWorkflowClient } from './workflow-client';
import { isUuid } from '../../platform/schemas';


export type IntakeResult = 'signalled' | 'duplicate' | 'ignored';

export async function takeInPayment(db: Database, orders: OrderWorkflowClient, delivery: WebhookDelivery): Promise<IntakeResult> {
  const order = delivery.orderId && isUuid(delivery.orderId) ? await db.order.findUnique({ where: { id: delivery.orderId } }) : null;
  const { signalOwed } = await storeEvent(db, { ...delivery, orderId: order?.id ?? null });
  if (!order || !delivery.payment) return 'ignored';
  if (!signalOwed) return 'duplicate';
  await orders.deliverPayment(order.id, order.userId, delivery.payment); // 503 when Temporal is unreachable
  await markSignalled(db, delivery);
  return 'signalled';
}
