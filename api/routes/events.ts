import { z } from '../../platform/zod';
import { BillingError } from '../../platform/errors';
import { webhookUrlProblem } from '../../modules/events/rules/webhook-url';
import { getDelivery, listDeliveries, listEvents, replayDelivery, replayFailed, sendTestEvent, eventsConfig, createEndpoint, deleteEndpoint, getEndpoint, listEndpoints, rotateSecret, updateEndpoint, getSettings, listNotifications, markAllRead, markRead, putSettings, deliveryPageSchema, deliverySchema, eventPageSchema, eventSchema, notificationPageSchema, notificationSchema, notificationSettingsSchema, replayResultSchema, webhookEndpointSchema, webhookEndpointWithSecretSchema } from '../../modules/events';
import { EVENT_TYPE_NAMES } from '../../platform/outbox/event-types';
import type { Principal } from '../auth';
import { delivery, event, examplePage, ids, notification, webhookEndpoint } from '../examples';
import { defineRoute, type RouteDefinition } from '../route';
import { isoDate, pageOf, pageQuery, pageQuerySchema, rangeInOrder, rangeInOrderIssue, userIdSchema, uuidSchema } from '../schemas';

/** The event log, webhook endpoints and deliveries (admin), and a user's notifications. */
const ADMIN = ['admin' as const];
const USER = ['user' as const];

const eventTypeSchema = z.enum(EVENT_TYPE_NAMES).openapi({ description: 'An event type (docs/events.md).' });

const webhookUrlSchema = z
  .string()
  .max(2000)
  .superRefine((url, ctx) => {
    const problem = webhookUrlProblem(url, eventsConfig().NODE_ENV === 'production');
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .openapi({ description: 'https; plain http only for loopback hosts outside production.', example: 'https://example.com/webhooks/billing' });

const endpointFields = {
  url: webhookUrlSchema,
  eventTypes: z.array(eventTypeSchema).max(50).openapi({ description: 'Types to deliver; empty = every type.' }),
  description: z.string().trim().max(500),
  enabled: z.boolean(),
};
const createEndpointBody = z.strictObject({ ...endpointFields, eventTypes: endpointFields.eventTypes.default([]), description: endpointFields.description.optional(), enabled: endpointFields.enabled.optional() });
const updateEndpointBody = z
  .strictObject(endpointFields)
  .partial()
  .refine((changes) => Object.values(changes).some((value) => value !== undefined), { message: 'give at least one field to change' });
const endpointParams = z.strictObject({ endpointId: uuidSchema });
const rotateBody = z.strictObject({
  overlapHours: z.number().int().min(0).max(720).optional().openapi({ description: 'How long the old secret keeps signing (default WEBHOOK_ROTATION_OVERLAP_HOURS).' }),
});

const eventsQuery = pageQuerySchema
  .extend({ type: eventTypeSchema.optional(), userId: userIdSchema.optional(), from: isoDate.optional(), to: isoDate.optional() })
  .refine(rangeInOrder, rangeInOrderIssue);
const deliveriesQuery = pageQuerySchema.extend({
  endpointId: uuidSchema.optional(),
  eventId: uuidSchema.optional(),
  status: z.enum(['pending', 'delivered', 'failed']).optional(),
});
const deliveryParams = z.strictObject({ deliveryId: uuidSchema });

const notificationsQuery = pageQuerySchema.extend({ unread: z.enum(['true', 'false']).optional() });
const notificationParams = z.strictObject({ notificationId: uuidSchema });
const settingsBody = z.strictObject({
  email: z.email().max(320).nullable(),
  emailOptOut: z.array(eventTypeSchema).max(50),
});

function ownUserId(principal: Principal | undefined): string {
  if (!principal?.userId) throw new BillingError('FORBIDDEN', 'This credential is not bound to a user.');
  return principal.userId;
}

const endpointWithSecret = { ...webhookEndpoint, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' };

export const eventRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'get',
    path: '/v1/admin/events',
    access: ADMIN,
    tag: 'Events',
    operationId: 'listEvents',
    summary: 'List events',
    description:
      'The event log (the outbox every business change writes in its own transaction), newest first in commit order; filter by type, user and occurrence time [from, to).',
    query: eventsQuery,
    response: eventPageSchema,
    examples: { response: examplePage(event) },
    handler: async ({ query, deps }) => {
      const { limit, cursor, ...filter } = query;
      return { body: await listEvents(deps.db, filter, { limit, cursor }) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/webhook-endpoints',
    access: ADMIN,
    tag: 'Webhooks',
    operationId: 'listWebhookEndpoints',
    summary: 'List webhook endpoints',
    description: 'Registered webhook endpoints, oldest first; deleted ones are not listed. Secrets are never shown here.',
    query: pageQuery({ default: 200, max: 500 }).strict(),
    response: pageOf(webhookEndpointSchema).openapi('WebhookEndpointList'),
    examples: { response: examplePage(webhookEndpoint) },
    handler: async ({ query, deps }) => ({ body: await listEndpoints(deps.db, query) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/webhook-endpoints',
    access: ADMIN,
    tag: 'Webhooks',
    operationId: 'createWebhookEndpoint',
    summary: 'Register a webhook endpoint',
    description:
      'Registers a URL to receive events (all types, or those listed). The answer carries the signing secret (`whsec_…`) this once (and to a retry with the same Idempotency-Key): store it to verify deliveries.',
    body: createEndpointBody,
    response: webhookEndpointWithSecretSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['IDEMPOTENCY_KEY_REUSED'],
    examples: {
      request: { url: webhookEndpoint.url, eventTypes: ['credits.granted', 'balance.low', 'order.paid'], description: webhookEndpoint.description },
      response: endpointWithSecret,
    },
    handler: async ({ body, deps, idempotency }) => createEndpoint(deps.db, body, idempotency),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/webhook-endpoints/:endpointId',
    access: ADMIN,
    tag: 'Webhooks',
    operationId: 'getWebhookEndpoint',
    summary: 'Get a webhook endpoint',
    description: 'One endpoint with its state (enabled, why disabled, failing since); never its secret.',
    params: endpointParams,
    response: webhookEndpointSchema,
    errors: ['NOT_FOUND'],
    examples: { response: webhookEndpoint },
    handler: async ({ params, deps }) => ({ body: await getEndpoint(deps.db, params.endpointId) }),
  }),
  defineRoute({
    method: 'patch',
    path: '/v1/admin/webhook-endpoints/:endpointId',
    access: ADMIN,
    tag: 'Webhooks',
    operationId: 'updateWebhookEndpoint',
    summary: 'Change a webhook endpoint',
    description: 'Change the URL, event types or description, or enable or disable the endpoint. Enabling clears its failure record.',
    params: endpointParams,
    body: updateEndpointBody,
    response: webhookEndpointSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { request: { eventTypes: [] }, response: { ...webhookEndpoint, eventTypes: [] } },
    handler: async ({ params, body, deps, idempotency }) => updateEndpoint(deps.db, params.endpointId, body, idempotency),
  }),
  defineRoute({
    method: 'delete',
    path: '/v1/admin/webhook-endpoints/:endpointId',
    access: ADMIN,
    tag: 'Webhooks',
    operationId: 'deleteWebhookEndpoint',
    summary: 'Delete a webhook endpoint',
    description: 'No further deliveries go to the endpoint; its past deliveries stay listed.',
    params: endpointParams,
    response: webhookEndpointSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { response: { ...webhookEndpoint, enabled: false } },
    handler: async ({ params, deps, idempotency }) => deleteEndpoint(deps.db, params.endpointId, idempotency),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/webhook-endpoints/:endpointId/rotate-secret',
    access: ADMIN,
    tag: 'Webhooks',
    operationId: 'rotateWebhookSecret',
    summary: "Rotate a webhook endpoint's secret",
    description:
      'A new signing secret, in this answer only. During the overlap (overlapHours, default WEBHOOK_ROTATION_OVERLAP_HOURS) every delivery is signed with both the old and the new secret, so the receiver can switch at its own pace.',
    params: endpointParams,
    body: rotateBody,
    response: webhookEndpointWithSecretSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: {
      request: { overlapHours: 24 },
      response: { ...endpointWithSecret, secret: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD', previousSecretExpiresAt: '2026-02-01T12:00:00.000Z', updatedAt: '2026-01-31T12:00:00.000Z' },
    },
    handler: async ({ params, body, deps, idempotency }) => rotateSecret(deps.db, params.endpointId, body.overlapHours, idempotency),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/webhook-endpoints/:endpointId/test',
    access: ADMIN,
    tag: 'Webhooks',
    operationId: 'sendTestWebhook',
    summary: 'Send a test event',
    description: 'Records a `webhook.test` event for this endpoint only; it is delivered like any other event (follow it in GET /v1/admin/webhook-deliveries).',
    params: endpointParams,
    response: eventSchema,
    successStatus: 202,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: {
      response: { ...event, type: 'webhook.test', userId: null, payload: { endpointId: ids.endpoint, message: 'Test event from durable-billing.' }, relayedAt: null },
    },
    handler: async ({ params, deps, idempotency }) => sendTestEvent(deps.db, params.endpointId, idempotency),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/webhook-endpoints/:endpointId/replay-failed',
    access: ADMIN,
    tag: 'Webhooks',
    operationId: 'replayFailedWebhookDeliveries',
    summary: "Replay an endpoint's failed deliveries",
    description: 'Delivers every failed delivery of this endpoint again, from the first attempt, with the same webhook-id (receivers dedupe on it).',
    params: endpointParams,
    response: replayResultSchema,
    successStatus: 202,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { response: { replayed: [ids.delivery] } },
    handler: async ({ params, deps, idempotency }) =>
      replayFailed(deps.db, deps.temporal, deps.config.TEMPORAL_TASK_QUEUE, params.endpointId, idempotency),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/webhook-deliveries',
    access: ADMIN,
    tag: 'Webhooks',
    operationId: 'listWebhookDeliveries',
    summary: 'List webhook deliveries',
    description: 'Deliveries with every attempt (status code, latency, response excerpt), newest first; filter by endpoint, event and status.',
    query: deliveriesQuery,
    response: deliveryPageSchema,
    examples: { response: examplePage(delivery) },
    handler: async ({ query, deps }) => {
      const { limit, cursor, ...filter } = query;
      return { body: await listDeliveries(deps.db, filter, { limit, cursor }) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/webhook-deliveries/:deliveryId',
    access: ADMIN,
    tag: 'Webhooks',
    operationId: 'getWebhookDelivery',
    summary: 'Get a webhook delivery',
    description: 'One delivery with every attempt.',
    params: deliveryParams,
    response: deliverySchema,
    errors: ['NOT_FOUND'],
    examples: { response: delivery },
    handler: async ({ params, deps }) => ({ body: await getDelivery(deps.db, params.deliveryId) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/webhook-deliveries/:deliveryId/replay',
    access: ADMIN,
    tag: 'Webhooks',
    operationId: 'replayWebhookDelivery',
    summary: 'Replay a webhook delivery',
    description: 'Delivers again from the first attempt, with the same webhook-id; a delivery still in progress is left alone (`replayed` is then empty).',
    params: deliveryParams,
    response: replayResultSchema,
    successStatus: 202,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { response: { replayed: [ids.delivery] } },
    handler: async ({ params, deps, idempotency }) =>
      replayDelivery(deps.db, deps.temporal, deps.config.TEMPORAL_TASK_QUEUE, params.deliveryId, idempotency),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/notifications',
    access: USER,
    tag: 'User',
    operationId: 'listMyNotifications',
    summary: 'List my notifications',
    description: 'My notices (the events about me worth telling), newest first, with the count of unread ones; unread=true lists only those.',
    query: notificationsQuery,
    response: notificationPageSchema,
    examples: { response: { ...examplePage(notification), unread: 1 } },
    handler: async ({ principal, query, deps }) => ({
      body: await listNotifications(deps.db, ownUserId(principal), { limit: query.limit, cursor: query.cursor, unreadOnly: query.unread === 'true' }),
    }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/me/notifications/:notificationId/read',
    access: USER,
    tag: 'User',
    operationId: 'markMyNotificationRead',
    summary: 'Mark a notification read',
    description: 'Marks one of my notices read; reading it again keeps the first time.',
    params: notificationParams,
    response: notificationSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { response: { ...notification, read: true, readAt: '2026-01-31T13:00:00.000Z' } },
    handler: async ({ principal, params, deps, idempotency }) => markRead(deps.db, ownUserId(principal), params.notificationId, idempotency),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/me/notifications/read-all',
    access: USER,
    tag: 'User',
    operationId: 'markAllMyNotificationsRead',
    summary: 'Mark all notifications read',
    description: 'Marks every unread notice of mine read and answers how many.',
    response: z.object({ marked: z.number().int() }).openapi('NotificationsMarked'),
    idempotent: true,
    errors: ['IDEMPOTENCY_KEY_REUSED'],
    examples: { response: { marked: 3 } },
    handler: async ({ principal, deps, idempotency }) => markAllRead(deps.db, ownUserId(principal), idempotency),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/notification-settings',
    access: USER,
    tag: 'User',
    operationId: 'getMyNotificationSettings',
    summary: 'Get my notification settings',
    description: 'The email address my notices go to (null: in-app only) and the event types I do not want emailed.',
    response: notificationSettingsSchema,
    examples: { response: { email: 'ana@example.com', emailOptOut: ['balance.low'] } },
    handler: async ({ principal, deps }) => ({ body: await getSettings(deps.db, ownUserId(principal)) }),
  }),
  defineRoute({
    method: 'put',
    path: '/v1/me/notification-settings',
    access: USER,
    tag: 'User',
    operationId: 'replaceMyNotificationSettings',
    summary: 'Replace my notification settings',
    description: 'Replaces both settings at once. PUT is idempotent by itself: no Idempotency-Key is needed.',
    body: settingsBody,
    response: notificationSettingsSchema,
    examples: { request: { email: 'ana@example.com', emailOptOut: ['balance.low'] }, response: { email: 'ana@example.com', emailOptOut: ['balance.low'] } },
    handler: async ({ principal, body, deps }) => ({ body: await putSettings(deps.db, ownUserId(principal), body) }),
  }),
];
