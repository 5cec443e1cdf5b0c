/** Operator reads and actions on the event log and deliveries (admin API). */
import type { Client } from '@temporalio/client';
import { BillingError } from '../../platform/errors';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';
import type { Prisma } from '../../generated/prisma/client';
import type { Database, Tx } from '../../platform/database';
import { eventsConfig } from './config';
import { keysetOrder, NEWEST_FIRST, type Page, type PageRequest } from '../../platform/pagination';
import { recordEvent } from '../../platform/outbox/record';
import { startDelivery } from './relay';
import { deliveryView, eventView, type DeliveryView, type EventView } from './views';

export interface EventFilter {
  type?: string | undefined;
  userId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/** Commit order, the newest first. */
const NEWEST_EVENT_FIRST = keysetOrder({ field: 'seq', direction: 'desc', kind: 'bigint' });

export async function listEvents(db: Database, filter: EventFilter, page: PageRequest): Promise<Page<EventView>> {
  const where: Prisma.EventWhereInput = {
    ...(filter.type ? { type: filter.type } : {}),
    ...(filter.userId ? { userId: filter.userId } : {}),
    ...(filter.from || filter.to
      ? { occurredAt: { ...(filter.from ? { gte: new Date(filter.from) } : {}), ...(filter.to ? { lt: new Date(filter.to) } : {}) } }
      : {}),
  };
  const rows = await db.event.findMany({ where: { AND: [where, NEWEST_EVENT_FIRST.after(page.cursor)] }, orderBy: NEWEST_EVENT_FIRST.orderBy, take: NEWEST_EVENT_FIRST.take(page) });
  return NEWEST_EVENT_FIRST.page(rows, page, eventView);
}

const withAttempts = { event: { select: { type: true } }, attempts: { orderBy: [{ createdAt: 'asc' as const }, { id: 'asc' as const }] } };

export async function listDeliveries(
  db: Database,
  filter: { endpointId?: string | undefined; eventId?: string | undefined; status?: string | undefined },
  page: PageRequest,
): Promise<Page<DeliveryView>> {
  const rows = await db.webhookDelivery.findMany({
    where: {
      AND: [
        {
          ...(filter.endpointId ? { endpointId: filter.endpointId } : {}),
          ...(filter.eventId ? { eventId: filter.eventId } : {}),
          ...(filter.status ? { status: filter.status } : {}),
        },
        NEWEST_FIRST.after(page.cursor),
      ],
    },
    include: withAttempts,
    orderBy: NEWEST_FIRST.orderBy,
    take: NEWEST_FIRST.take(page),
  });
  return NEWEST_FIRST.page(rows, page, deliveryView);
}

export async function getDelivery(db: Database, deliveryId: string): Promise<DeliveryView> {
  // By id alone: one index probe per month's partition (the id does not say its month).
  const delivery = await db.webhookDelivery.findFirst({ where: { id: deliveryId }, include: withAttempts });
  if (!delivery) throw new BillingError('NOT_FOUND', `Delivery ${deliveryId} not found.`, { deliveryId });
  return deliveryView(delivery);
}

/**
 * Runs a delivery again from its first attempt (a new run of the same workflow id, so the same
 * `webhook-id`: a receiver that did get it dedupes). A delivery still in progress is left alone.
 */
async function replay(db: Tx, temporal: Client, taskQueue: string, delivery: { id: string; eventId: string; eventOccurredAt: Date; endpointId: string; status: string }, type: string) {
  if (delivery.status === 'pending') return false;
  // Conditional, so two concurrent replays start one run: the second finds the row pending already.
  const { count } = await db.webhookDelivery.updateMany({
    where: { id: delivery.id, eventOccurredAt: delivery.eventOccurredAt, status: { not: 'pending' } },
    data: { status: 'pending', lastError: null, nextAttemptAt: new Date() },
  });
  if (count === 0) return false;
  await startDelivery(
    { temporal, taskQueue },
    { eventId: delivery.eventId, endpointId: delivery.endpointId, eventType: type, retryScheduleMs: eventsConfig().WEBHOOK_RETRY_SCHEDULE_MS },
    'replay',
  );
  return true;
}

async function liveEndpoint(db: Tx, endpointId: string) {
  const endpoint = await db.webhookEndpoint.findUnique({ where: { id: endpointId } });
  if (!endpoint || endpoint.deletedAt) throw new BillingError('NOT_FOUND', `Webhook endpoint ${endpointId} not found.`, { endpointId });
  return endpoint;
}

/** Idempotent per key: the stored answer is replayed, so a retried request does not start the delivery again. */
export async function replayDelivery(
  db: Database,
  temporal: Client,
  taskQueue: string,
  deliveryId: string,
  idempotency: Idempotency,
): Promise<IdempotentResult<{ replayed: string[] }>> {
  return runIdempotent(db, idempotency, async (tx) => {
  const delivery = await tx.webhookDelivery.findFirst({ where: { id: deliveryId }, include: { event: { select: { type: true } } } });
  if (!delivery) throw new BillingError('NOT_FOUND', `Delivery ${deliveryId} not found.`, { deliveryId });
  await liveEndpoint(tx, delivery.endpointId);
  return { replayed: (await replay(tx, temporal, taskQueue, delivery, delivery.event.type)) ? [delivery.id] : [] };
  });
}

export async function replayFailed(
  db: Database,
  temporal: Client,
  taskQueue: string,
  endpointId: string,
  idempotency: Idempotency,
): Promise<IdempotentResult<{ replayed: string[] }>> {
  return runIdempotent(db, idempotency, async (tx) => {
    await liveEndpoint(tx, endpointId);
    const failed = await tx.webhookDelivery.findMany({ where: { endpointId, status: 'failed' }, include: { event: { select: { type: true } } } });
    const replayed: string[] = [];
    for (const delivery of failed) if (await replay(tx, temporal, taskQueue, delivery, delivery.event.type)) replayed.push(delivery.id);
    return { replayed };
  });
}

/** Records a `webhook.test` event for one endpoint; the relay delivers it like any other. */
export async function sendTestEvent(db: Database, endpointId: string, idempotency: Idempotency): Promise<IdempotentResult<EventView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const endpoint = await tx.webhookEndpoint.findUnique({ where: { id: endpointId } });
    if (!endpoint || endpoint.deletedAt) throw new BillingError('NOT_FOUND', `Webhook endpoint ${endpointId} not found.`, { endpointId });
    const id = await recordEvent(tx, { type: 'webhook.test', userId: null, payload: { endpointId, message: 'Test event from durable-billing.' } });
    return eventView(await tx.event.findFirstOrThrow({ where: { id } }));
  });
}
