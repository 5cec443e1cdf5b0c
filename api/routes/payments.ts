import { z } from '../../platform/zod';
import { CHANNEL_KINDS, channelView, createChannel, getChannel, listChannels, listPublicChannels, updateChannel } from '../../modules/payments';
import { channel, examplePage, publicChannel } from '../examples';
import { defineRoute, type RouteDefinition } from '../route';
import { pageOf, pageQuery } from '../schemas';
import { codeSchema, currencyCodeSchema, uuidSchema } from '../../platform/schemas';

/** Payment channels: the public list (no secrets) and admin CRUD. Delete is disable (orders keep their channel). */
const ADMIN = ['admin' as const];

const channelCodeSchema = codeSchema;
const currenciesSchema = z.array(currencyCodeSchema).min(1).max(50);

const publicChannelSchema = z
  .object({ code: z.string(), kind: z.enum(CHANNEL_KINDS), name: z.string(), displayOrder: z.number().int(), currencies: z.array(z.string()) })
  .openapi('PaymentChannel');
const channelSchema = publicChannelSchema
  .extend({
    id: uuidSchema,
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
/** The channel lists answered everything before they paged: a first page this long keeps that. */
const channelsQuery = pageQuery({ default: 200, max: 500 }).strict();

export const paymentRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'get',
    path: '/v1/payment-channels',
    access: 'public',
    tag: 'Public',
    operationId: 'listPaymentChannels',
    summary: 'List payment channels',
    description: 'Enabled payment channels in display order, with the currencies each takes (no settings, no secrets). Name one as `channel` when ordering.',
    query: channelsQuery,
    response: pageOf(publicChannelSchema).openapi('PaymentChannelList'),
    examples: { response: examplePage(publicChannel) },
    handler: async ({ query, deps }) => ({ body: await listPublicChannels(deps.db, query) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/payment-channels',
    access: ADMIN,
    tag: 'Admin',
    operationId: 'listAdminPaymentChannels',
    summary: 'List all payment channels',
    description: 'All payment channels, enabled or not, in display order, with their settings (secrets shown as "***").',
    query: channelsQuery,
    response: pageOf(channelSchema).openapi('PaymentChannelAdminList'),
    examples: { response: examplePage(channel) },
    handler: async ({ query, deps }) => ({ body: await listChannels(deps.db, query) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/payment-channels/:channel',
    access: ADMIN,
    tag: 'Admin',
    operationId: 'getPaymentChannel',
    summary: 'Get a payment channel',
    description: 'One payment channel by code, with its settings (secrets shown as "***").',
    params: channelParams,
    response: channelSchema,
    errors: ['NOT_FOUND'],
    examples: { response: channel },
    handler: async ({ params, deps }) => ({ body: channelView(await getChannel(deps.db, params.channel)) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/payment-channels',
    access: ADMIN,
    tag: 'Admin',
    operationId: 'createPaymentChannel',
    summary: 'Add a payment channel',
    description:
      'Adds a channel of a kind (stripe, gateway, manual); its config is validated for its kind. Stripe keys come from the environment, never from here. Audited.',
    body: createBody,
    response: channelSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['ALREADY_EXISTS', 'IDEMPOTENCY_KEY_REUSED'],
    examples: {
      request: { code: 'stripe', kind: 'stripe', name: 'Card (Stripe)', displayOrder: 10, currencies: ['USD', 'EUR'], config: channel.config },
      response: channel,
    },
    handler: async ({ body, deps, idempotency, principal }) => createChannel(deps.db, body, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'patch',
    path: '/v1/admin/payment-channels/:channel',
    access: ADMIN,
    tag: 'Admin',
    operationId: 'updatePaymentChannel',
    summary: 'Change a payment channel',
    description:
      'Enable or disable a channel, or change its display order, currencies, name or config (replaced whole). Orders keep the channel they were placed with. Audited.',
    params: channelParams,
    body: updateBody,
    response: channelSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { request: { enabled: false }, response: { ...channel, enabled: false } },
    handler: async ({ params, body, deps, idempotency, principal }) => updateChannel(deps.db, params.channel, body, idempotency, principal!.id),
  }),
];
