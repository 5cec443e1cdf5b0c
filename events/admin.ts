/** Operator reads and actions on the event log and deliveries (admin API). */
import type { Client } from '@temporalio/client';
import { BillingError } from '../domain/errors';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../idempotency/store';
import type { Prisma } from '../generated/prisma/client';
import type { Database, Tx } from '../infra/database';
import { eventsConfig } from './config';
import { decodeCursor, encodeCursor } from './notifications';
import { recordEvent } from './record';
import { startDelivery } from './relay';
import { deliveryView, eventView, type DeliveryView, type EventView } from './views';

export interface EventFilter {
  type?: string | undefined;
  userId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** Newest first; the cursor is the last item's commit sequence number. */
export async function listEvents(db: Database, filter: EventFilter): Promise<{ items: EventView[]; nextCursor: string | null }> {
  if (filter.cursor !== undefined && !/^\d{1,19}$/.test(filter.cursor)) {
    throw new BillingError('VALIDATION_FAILED', 'Invalid cursor.', { issues: [{ path: 'query.cursor', message: 'not a cursor from this API' }] });
  }
  const where: Prisma.EventWhereInput = {
    ...(filter.type ? { type: filter.type } : {}),
    ...(filter.userId ? { userId: filter.userId } : {}),
    ...(filter.from || filter.to
      ? { occurredAt: { ...(filter.from ? { gte: new Date(filter.from) } : {}), ...(filter.to ? { lt: new Date(filter.to) } : {}) } }
      : {}),
    ...(filter.cursor ? { seq: { lt: BigInt(filter.cursor) } } : {}),
  };
  const rows = await db.event.findMany({ where, orderBy: { seq: 'desc' }, take: filter.limit + 1 });
  const items = rows.slice(0, filter.limit);
  return { items: items.map(eventView), nextCursor: rows.length > filter.limit ? String(items.at(-1)!.seq) : null };
}

const withAttempts = { event: { select: { type: true } }, attempts: { orderBy: [{ createdAt: 'asc' as const }, { id: 'asc' as const }] } };

export async function listDeliveries(
  db: Database,
  filter: { endpointId?: string | undefined; eventId?: string | undefined; status?: string | undefined; limit: number; cursor?: string | undefined },
): Promise<{ items: DeliveryView[]; nextCursor: string | null }> {
  const before = filter.cursor ? decodeCursor(filter.cursor) : null;
  const rows = await db.webhookDelivery.findMany({
    where: {
      ...(filter.endpointId ? { endpointId: filter.endpointId } : {}),
      ...(filter.eventId ? { eventId: filter.eventId } : {}),
      ...(filter.status ? { status: filter.status } : {}),
      ...(before ? { OR: [{ createdAt: { lt: before.createdAt } }, { createdAt: before.createdAt, id: { lt: before.id } }] } : {}),
    },
    include: withAttempts,
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: filter.limit + 1,
  });
  const items = rows.slice(0, filter.limit);
  return { items: items.map(deliveryView), nextCursor: rows.length > filter.limit ? encodeCursor(items.at(-1)!) : null };
}

export async function getDelivery(db: Database, deliveryId: string): Promise<DeliveryView> {
  const delivery = await db.webhookDelivery.findUnique({ where: { id: deliveryId }, include: withAttempts });
  if (!delivery) throw new BillingError('NOT_FOUND', `Delivery ${deliveryId} not found.`, { deliveryId });
  return deliveryView(delivery);
}

/**
 * Runs a delivery again from its first attempt (a new run of the same workflow id, so the same
 * `webhook-id`: a receiver that did get it dedupes). A delivery still in progress is left alone.
 */
async function replay(db: Tx, temporal: Client, taskQueue: string, delivery: { id: string; eventId: string; endpointId: string; status: string }, type: string) {
  if (delivery.status === 'pending') return false;
  // Conditional, so two concurrent replays start one run: the second finds the row pending already.
  const { count } = await db.webhookDelivery.updateMany({
    where: { id: delivery.id, status: { not: 'pending' } },
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
  const delivery = await tx.webhookDelivery.findUnique({ where: { id: deliveryId }, include: { event: { select: { type: true } } } });
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
    return eventView(await tx.event.findUniqueOrThrow({ where: { id } }));
  });
}
