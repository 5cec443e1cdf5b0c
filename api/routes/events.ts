import { z } from '../../infra/zod';
import { BillingError } from '../../domain/errors';
import { webhookUrlProblem } from '../../domain/webhook-url';
import { getDelivery, listDeliveries, listEvents, replayDelivery, replayFailed, sendTestEvent } from '../../events/admin';
import { eventsConfig } from '../../events/config';
import { createEndpoint, deleteEndpoint, getEndpoint, listEndpoints, rotateSecret, updateEndpoint } from '../../events/endpoints';
import { getSettings, listNotifications, markAllRead, markRead, putSettings } from '../../events/notifications';
import { EVENT_TYPE_NAMES } from '../../events/types';
import {
  deliveryPageSchema,
  deliverySchema,
  eventPageSchema,
  eventSchema,
  notificationPageSchema,
  notificationSchema,
  notificationSettingsSchema,
  replayResultSchema,
  webhookEndpointSchema,
  webhookEndpointWithSecretSchema,
} from '../../events/views';
import type { Principal } from '../auth';
import { defineRoute, type RouteDefinition } from '../route';
import { isoDate, listOf, pageQuerySchema, rangeInOrder, rangeInOrderIssue, userIdSchema, uuidSchema } from '../schemas';

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

export const eventRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'get',
    path: '/v1/admin/events',
    access: ADMIN,
    tag: 'Events',
    summary: 'The event log, newest first; filter by type, user and time (from inclusive, to exclusive).',
    query: eventsQuery,
    response: eventPageSchema,
    handler: async ({ query, deps }) => ({ body: await listEvents(deps.db, query) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/webhook-endpoints',
    access: ADMIN,
    tag: 'Webhooks',
    summary: 'Webhook endpoints (deleted ones are not listed).',
    response: listOf(webhookEndpointSchema).openapi('WebhookEndpointList'),
    handler: async ({ deps }) => ({ body: { items: await listEndpoints(deps.db) } }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/webhook-endpoints',
    access: ADMIN,
    tag: 'Webhooks',
    summary: 'Register an endpoint. The signing secret is in this answer only (and in a same-key retry).',
    body: createEndpointBody,
    response: webhookEndpointWithSecretSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ body, deps, idempotency }) => createEndpoint(deps.db, body, idempotency),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/webhook-endpoints/:endpointId',
    access: ADMIN,
    tag: 'Webhooks',
    summary: 'One endpoint (never its secret).',
    params: endpointParams,
    response: webhookEndpointSchema,
    errors: ['NOT_FOUND'],
    handler: async ({ params, deps }) => ({ body: await getEndpoint(deps.db, params.endpointId) }),
  }),
  defineRoute({
    method: 'patch',
    path: '/v1/admin/webhook-endpoints/:endpointId',
    access: ADMIN,
    tag: 'Webhooks',
    summary: 'Change URL, event types, description, or enable/disable. Enabling clears the failure record.',
    params: endpointParams,
    body: updateEndpointBody,
    response: webhookEndpointSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ params, body, deps, idempotency }) => updateEndpoint(deps.db, params.endpointId, body, idempotency),
  }),
  defineRoute({
    method: 'delete',
    path: '/v1/admin/webhook-endpoints/:endpointId',
    access: ADMIN,
    tag: 'Webhooks',
    summary: 'Delete an endpoint: no further deliveries; its past deliveries stay listed.',
    params: endpointParams,
    response: webhookEndpointSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ params, deps, idempotency }) => deleteEndpoint(deps.db, params.endpointId, idempotency),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/webhook-endpoints/:endpointId/rotate-secret',
    access: ADMIN,
    tag: 'Webhooks',
    summary: 'New signing secret (in this answer only); the old one also signs during the overlap.',
    params: endpointParams,
    body: rotateBody,
    response: webhookEndpointWithSecretSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ params, body, deps, idempotency }) => rotateSecret(deps.db, params.endpointId, body.overlapHours, idempotency),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/webhook-endpoints/:endpointId/test',
    access: ADMIN,
    tag: 'Webhooks',
    summary: 'Send a webhook.test event to this endpoint (delivered like any event).',
    params: endpointParams,
    response: eventSchema,
    successStatus: 202,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ params, deps, idempotency }) => sendTestEvent(deps.db, params.endpointId, idempotency),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/webhook-endpoints/:endpointId/replay-failed',
    access: ADMIN,
    tag: 'Webhooks',
    summary: 'Deliver every failed delivery of this endpoint again, from the first attempt.',
    params: endpointParams,
    response: replayResultSchema,
    successStatus: 202,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ params, deps, idempotency }) =>
      replayFailed(deps.db, deps.temporal, deps.config.TEMPORAL_TASK_QUEUE, params.endpointId, idempotency),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/webhook-deliveries',
    access: ADMIN,
    tag: 'Webhooks',
    summary: 'Deliveries with every attempt (status, latency, response excerpt), newest first.',
    query: deliveriesQuery,
    response: deliveryPageSchema,
    handler: async ({ query, deps }) => ({ body: await listDeliveries(deps.db, query) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/webhook-deliveries/:deliveryId',
    access: ADMIN,
    tag: 'Webhooks',
    summary: 'One delivery with every attempt.',
    params: deliveryParams,
    response: deliverySchema,
    errors: ['NOT_FOUND'],
    handler: async ({ params, deps }) => ({ body: await getDelivery(deps.db, params.deliveryId) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/webhook-deliveries/:deliveryId/replay',
    access: ADMIN,
    tag: 'Webhooks',
    summary: 'Deliver again from the first attempt (same webhook-id); a delivery still in progress is left alone.',
    params: deliveryParams,
    response: replayResultSchema,
    successStatus: 202,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ params, deps, idempotency }) =>
      replayDelivery(deps.db, deps.temporal, deps.config.TEMPORAL_TASK_QUEUE, params.deliveryId, idempotency),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/notifications',
    access: USER,
    tag: 'User',
    summary: 'My notices, newest first, with the unread count; pass nextCursor back as cursor.',
    query: notificationsQuery,
    response: notificationPageSchema,
    handler: async ({ principal, query, deps }) => ({
      body: await listNotifications(deps.db, ownUserId(principal), { limit: query.limit, cursor: query.cursor, unreadOnly: query.unread === 'true' }),
    }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/me/notifications/:notificationId/read',
    access: USER,
    tag: 'User',
    summary: 'Mark one of my notices read.',
    params: notificationParams,
    response: notificationSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ principal, params, deps, idempotency }) => markRead(deps.db, ownUserId(principal), params.notificationId, idempotency),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/me/notifications/read-all',
    access: USER,
    tag: 'User',
    summary: 'Mark all my notices read.',
    response: z.object({ marked: z.number().int() }).openapi('NotificationsMarked'),
    idempotent: true,
    errors: ['IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ principal, deps, idempotency }) => markAllRead(deps.db, ownUserId(principal), idempotency),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/notification-settings',
    access: USER,
    tag: 'User',
    summary: 'My email address for notices and the types I do not want emailed.',
    response: notificationSettingsSchema,
    handler: async ({ principal, deps }) => ({ body: await getSettings(deps.db, ownUserId(principal)) }),
  }),
  defineRoute({
    method: 'put',
    path: '/v1/me/notification-settings',
    access: USER,
    tag: 'User',
    summary: 'Replace my notification settings (PUT is idempotent by itself: no Idempotency-Key needed).',
    body: settingsBody,
    response: notificationSettingsSchema,
    handler: async ({ principal, body, deps }) => ({ body: await putSettings(deps.db, ownUserId(principal), body) }),
  }),
];
