/**
 * Answers of the events API as zod schemas (types inferred). Stored verbatim as idempotent replies, so
 * they change only by adding fields.
 */
import type { Event, Notification, WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint } from '../../generated/prisma/client';
import { z } from '../../platform/zod';
import { uuidSchema } from '../../platform/schemas';

export const eventSchema = z
  .object({
    id: uuidSchema,
    type: z.string(),
    userId: z.string().nullable(),
    payload: z.record(z.string(), z.unknown()),
    occurredAt: z.string(),
    relayedAt: z.string().nullable(),
  })
  .openapi('Event');
export type EventView = z.infer<typeof eventSchema>;

export function eventView(event: Event): EventView {
  return {
    id: event.id,
    type: event.type,
    userId: event.userId,
    payload: event.payload as Record<string, unknown>,
    occurredAt: event.occurredAt.toISOString(),
    relayedAt: event.relayedAt?.toISOString() ?? null,
  };
}

export const eventPageSchema = z.object({ items: z.array(eventSchema), nextCursor: z.string().nullable() }).openapi('EventPage');

export const webhookEndpointSchema = z
  .object({
    id: uuidSchema,
    url: z.string(),
    description: z.string(),
    eventTypes: z.array(z.string()).openapi({ description: 'Event types delivered; empty = every type.' }),
    enabled: z.boolean(),
    disabledReason: z.string().nullable(),
    previousSecretExpiresAt: z.string().nullable().openapi({ description: 'Until then the previous secret also signs (rotation overlap).' }),
    failingSince: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('WebhookEndpoint');
export type WebhookEndpointView = z.infer<typeof webhookEndpointSchema>;

export function webhookEndpointView(endpoint: WebhookEndpoint): WebhookEndpointView {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    eventTypes: endpoint.eventTypes,
    enabled: endpoint.enabled,
    disabledReason: endpoint.disabledReason,
    previousSecretExpiresAt: endpoint.previousSecretExpiresAt?.toISOString() ?? null,
    failingSince: endpoint.failingSince?.toISOString() ?? null,
    createdAt: endpoint.createdAt.toISOString(),
    updatedAt: endpoint.updatedAt.toISOString(),
  };
}

/** Creation and rotation answers: the endpoint and its new secret, shown this once (and to a same-key retry). */
export const webhookEndpointWithSecretSchema = webhookEndpointSchema
  .extend({ secret: z.string().openapi({ description: 'whsec_…: store it now; it is never shown again.' }) })
  .openapi('WebhookEndpointWithSecret');

const deliveryAttemptSchema = z
  .object({
    runId: z.string(),
    attempt: z.number().int(),
    scheduledAt: z.string(),
    statusCode: z.number().int().nullable(),
    error: z.string().nullable(),
    latencyMs: z.number().int(),
    responseExcerpt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('WebhookDeliveryAttempt');

export const deliverySchema = z
  .object({
    id: uuidSchema,
    eventId: uuidSchema,
    eventType: z.string(),
    endpointId: uuidSchema,
    status: z.enum(['pending', 'delivered', 'failed']),
    attemptCount: z.number().int(),
    lastError: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    createdAt: z.string(),
    attempts: z.array(deliveryAttemptSchema),
  })
  .openapi('WebhookDelivery');
export type DeliveryView = z.infer<typeof deliverySchema>;

export function deliveryView(delivery: WebhookDelivery & { event: { type: string }; attempts: WebhookDeliveryAttempt[] }): DeliveryView {
  return {
    id: delivery.id,
    eventId: delivery.eventId,
    eventType: delivery.event.type,
    endpointId: delivery.endpointId,
    status: delivery.status as DeliveryView['status'],
    attemptCount: delivery.attemptCount,
    lastError: delivery.lastError,
    nextAttemptAt: delivery.nextAttemptAt?.toISOString() ?? null,
    deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
    createdAt: delivery.createdAt.toISOString(),
    attempts: delivery.attempts.map((a) => ({
      runId: a.runId,
      attempt: a.attempt,
      scheduledAt: a.scheduledAt.toISOString(),
      statusCode: a.statusCode,
      error: a.error,
      latencyMs: a.latencyMs,
      responseExcerpt: a.responseExcerpt,
      createdAt: a.createdAt.toISOString(),
    })),
  };
}

export const deliveryPageSchema = z.object({ items: z.array(deliverySchema), nextCursor: z.string().nullable() }).openapi('WebhookDeliveryPage');

export const replayResultSchema = z.object({ replayed: z.array(uuidSchema) }).openapi('WebhookReplayResult');

export const notificationSchema = z
  .object({
    id: uuidSchema,
    type: z.string(),
    title: z.string(),
    body: z.string(),
    eventId: uuidSchema,
    read: z.boolean(),
    readAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('Notification');
export type NotificationView = z.infer<typeof notificationSchema>;

export function notificationView(n: Notification): NotificationView {
  return {
    id: n.id,
    type: n.type,
    title: n.title,
    body: n.body,
    eventId: n.eventId,
    read: n.readAt !== null,
    readAt: n.readAt?.toISOString() ?? null,
    createdAt: n.createdAt.toISOString(),
  };
}

export const notificationPageSchema = z
  .object({ items: z.array(notificationSchema), nextCursor: z.string().nullable(), unread: z.number().int() })
  .openapi('NotificationPage');

export const notificationSettingsSchema = z
  .object({
    email: z.string().nullable().openapi({ description: 'Where notices are emailed; null = in-app only.' }),
    emailOptOut: z.array(z.string()).openapi({ description: 'Event types never emailed (still shown in-app).' }),
  })
  .openapi('NotificationSettings');
export type NotificationSettingsView = z.infer<typeof notificationSettingsSchema>;
