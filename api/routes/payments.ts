import { z } from '../../infra/zod';
import { CHANNEL_KINDS, channelView, createChannel, getChannel, listChannels, listPublicChannels, updateChannel } from '../../payments/channels';
import { defineRoute, type RouteDefinition } from '../route';
import { listOf } from '../schemas';

/** Payment channels: the public list (no secrets) and admin CRUD. Delete is disable (orders keep their channel). */
const ADMIN = ['admin' as const];

const channelCodeSchema = z.string().min(1).max(64).regex(/^[a-z0-9]+(?:[_-][a-z0-9]+)*$/, 'lower_snake_case or kebab-case');
const currenciesSchema = z.array(z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code in upper case')).min(1).max(50);

const publicChannelSchema = z
  .object({ code: z.string(), kind: z.enum(CHANNEL_KINDS), name: z.string(), displayOrder: z.number().int(), currencies: z.array(z.string()) })
  .openapi('PaymentChannel');
const channelSchema = publicChannelSchema
  .extend({
    id: z.uuid(),
    enabled: z.boolean(),
    config: z.record(z.string(), z.unknown()).openapi({ description: 'Kind-specific settings; secrets shown as "***".' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('PaymentChannelAdmin');

const createBody = z.strictObject({
  code: channelCodeSchema,
  kind: z.enum(CHANNEL_KINDS),
  name: z.string().trim().min(1).max(200),
  enabled: z.boolean().optional(),
  displayOrder: z.number().int().min(0).max(1_000_000).optional(),
  currencies: currenciesSchema,
  config: z.record(z.string(), z.unknown()).default({}).openapi({
    description: 'stripe: { successUrl?, cancelUrl? } (keys come from the environment); gateway: { gatewayUrl, merchantId, secret (>= 16 chars) }; manual: { instructions? }.',
  }),
});
const updateBody = createBody
  .omit({ code: true, kind: true })
  .partial()
  .refine((changes) => Object.values(changes).some((value) => value !== undefined), { message: 'give at least one field to change' });
const channelParams = z.strictObject({ channel: channelCodeSchema });

export const paymentRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'get',
    path: '/v1/payment-channels',
    access: 'public',
    tag: 'Public',
    summary: 'Enabled payment channels in display order (no settings, no secrets).',
    response: listOf(publicChannelSchema).openapi('PaymentChannelList'),
    handler: async ({ deps }) => ({ body: { items: await listPublicChannels(deps.db) } }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/payment-channels',
    access: ADMIN,
    tag: 'Admin',
    summary: 'All payment channels, enabled or not.',
    response: listOf(channelSchema).openapi('PaymentChannelAdminList'),
    handler: async ({ deps }) => ({ body: { items: await listChannels(deps.db) } }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/payment-channels/:channel',
    access: ADMIN,
    tag: 'Admin',
    summary: 'One payment channel.',
    params: channelParams,
    response: channelSchema,
    errors: ['NOT_FOUND'],
    handler: async ({ params, deps }) => ({ body: channelView(await getChannel(deps.db, params.channel)) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/payment-channels',
    access: ADMIN,
    tag: 'Admin',
    summary: 'Add a payment channel; its config is validated for its kind.',
    body: createBody,
    response: channelSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['ALREADY_EXISTS', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ body, deps, idempotency, principal }) => createChannel(deps.db, body, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'patch',
    path: '/v1/admin/payment-channels/:channel',
    access: ADMIN,
    tag: 'Admin',
    summary: 'Change a channel: enable/disable, display order, currencies, name, config (replaced whole).',
    params: channelParams,
    body: updateBody,
    response: channelSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ params, body, deps, idempotency, principal }) => updateChannel(deps.db, params.channel, body, idempotency, principal!.id),
  }),
];
