import { z } from '../../platform/zod';
import { BillingError } from '../../platform/errors';
import { confirmTopUpAction, getRefill, startManualTopUp, type TopUpRefillView, createTopUpRule, deleteTopUpRule, getTopUpRule, listPaymentMethods, listRefills, removePaymentMethod, saveGatewayToken, savedPaymentMethodSchema, startStripeSetup, stripeSetupSchema, listTopUpRules, setTopUpRulePaused, syncRuleSchedule, topUpRefillSchema, topUpRuleSchema, type TopUpRuleView } from '../../modules/topups';
import type { ApiDeps } from '../deps';
import type { IdempotentResult } from '../../platform/idempotency/store';
import type { Principal } from '../auth';
import { defineRoute, type RouteDefinition } from '../route';
import { ids } from '../examples';
import { pageOf, pageQuery, userIdSchema, uuidSchema } from '../schemas';

/** Top-up rules, for the user themself and for an admin on a user's behalf. Handlers call modules/topups only. */
const USER = ['user' as const];
const ADMIN = ['admin' as const];

function ownUserId(principal: Principal | undefined): string {
  if (!principal?.userId) throw new BillingError('FORBIDDEN', 'This credential is not bound to a user.');
  return principal.userId;
}

const codeSchema = z.string().min(1).max(64).regex(/^[a-z0-9]+(?:[_-][a-z0-9]+)*$/, 'lower_snake_case or kebab-case');
const int32 = z.number().int().min(1).max(2_147_483_647);
const ruleBody = z
  .strictObject({
    kind: z.enum(['threshold', 'interval']).optional().openapi({ description: '`threshold` (default): refill when available credits fall below `thresholdCredits`; `interval`: refill on `dayOfMonth` of each month (00:00 UTC), on a Temporal Schedule.', example: 'threshold' }),
    thresholdCredits: int32.optional().openapi({ description: 'A threshold rule (required for one, refused for an interval rule): a refill starts when available credits fall below this.', example: 20 }),
    dayOfMonth: z.number().int().min(1).max(28).optional().openapi({ description: 'An interval rule (required for one, refused for a threshold rule): the day of each month, 1-28 so every month has it, its refill runs (00:00 UTC).', example: 1 }),
    packageCode: codeSchema.openapi({ description: 'The package each refill buys: on sale and granting credits.', example: 'credits_100' }),
    currency: z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code in upper case').optional().openapi({ description: "One of the package's prices; default the package's own.", example: 'USD' }),
    maxTopUpsPerMonth: int32.optional().openapi({ description: 'At most this many refills per calendar month (UTC).', example: 3 }),
    maxAmountMinorPerMonth: int32.optional().openapi({ description: 'At most this much charged per calendar month (UTC), minor units of the currency; at least one purchase.', example: 3000 }),
    paymentMethodId: uuidSchema.optional().openapi({ description: "One of the user's saved payment methods, charged by each refill; default the newest saved method at each refill.", example: '0b7d5c1e-2f3a-4b6c-8d9e-1a2b3c4d5e6f' }),
  })
  .refine((body) => body.maxTopUpsPerMonth !== undefined || body.maxAmountMinorPerMonth !== undefined, {
    message: 'Give maxTopUpsPerMonth, maxAmountMinorPerMonth or both: a rule without a cap could buy without end.',
    path: ['maxTopUpsPerMonth'],
  })
  .refine((body) => ((body.kind ?? 'threshold') === 'threshold' ? body.thresholdCredits !== undefined && body.dayOfMonth === undefined : true), {
    message: 'A threshold rule takes thresholdCredits and no dayOfMonth.',
    path: ['thresholdCredits'],
  })
  .refine((body) => (body.kind === 'interval' ? body.dayOfMonth !== undefined && body.thresholdCredits === undefined : true), {
    message: 'An interval rule takes dayOfMonth and no thresholdCredits.',
    path: ['dayOfMonth'],
  });
const emptyBody = z.strictObject({});
const myRuleParams = z.strictObject({ ruleId: uuidSchema });
const userParams = z.strictObject({ userId: userIdSchema });
const userRuleParams = z.strictObject({ userId: userIdSchema, ruleId: uuidSchema });
const ruleList = z.object({ items: z.array(topUpRuleSchema) }).openapi('TopUpRuleList');
const refillList = pageOf(topUpRefillSchema).openapi('TopUpRefillList');
const refillParams = z.strictObject({ refillId: z.string().min(1).max(200).regex(/^top-up-[A-Za-z0-9-]+$/, 'a refill id, top-up-…') });
const manualTopUpBody = z.strictObject({
  packageCode: codeSchema.openapi({ description: 'The package to buy: on sale and granting credits.', example: 'credits_100' }),
  paymentMethodId: uuidSchema.optional().openapi({ description: 'One of my saved payment methods; default the one my top-up rule charges, else the newest.', example: '0b7d5c1e-2f3a-4b6c-8d9e-1a2b3c4d5e6f' }),
});

const refillExample: TopUpRefillView = {
  id: 'top-up-6f1c2a34-8b7e-4d2f-9a10-3c5e7b9d1f20-42',
  workflowId: 'top-up-6f1c2a34-8b7e-4d2f-9a10-3c5e7b9d1f20-42',
  ruleId: '6f1c2a34-8b7e-4d2f-9a10-3c5e7b9d1f20',
  userId: ids.user,
  trigger: 'threshold',
  packageCode: null,
  paymentMethodId: null,
  month: '2026-02',
  amountMinor: 1000,
  currency: 'USD',
  status: 'claimed',
  outcome: 'succeeded',
  orderId: '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b',
  actionUrl: null,
  failureReason: null,
  createdAt: '2026-02-03T10:00:00.000Z',
  updatedAt: '2026-02-03T10:00:05.000Z',
};
const manualRefillExample: TopUpRefillView = {
  ...refillExample,
  id: 'top-up-manual-3b9f0c1d2e4a5b6c7d8e9f0a1b2c3d4e',
  workflowId: 'top-up-manual-3b9f0c1d2e4a5b6c7d8e9f0a1b2c3d4e',
  trigger: 'manual',
  packageCode: 'credits_100',
  outcome: 'pending',
  orderId: null,
  updatedAt: '2026-02-03T10:00:00.000Z',
};
const actionRefillExample: TopUpRefillView = {
  ...manualRefillExample,
  outcome: 'requires_action',
  orderId: '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b',
  actionUrl: 'https://gateway.example/authenticate?idempotency_key=top-up-manual-3b9f0c1d2e4a5b6c7d8e9f0a1b2c3d4e%3Acharge%3A0',
};

const RULE_ERRORS = ['VALIDATION_FAILED', 'SERVICE_UNAVAILABLE', 'NOT_FOUND', 'PACKAGE_UNAVAILABLE', 'CURRENCY_NOT_SUPPORTED', 'TOP_UP_CAP_TOO_LOW', 'PAYMENT_METHOD_UNAVAILABLE', 'ALREADY_EXISTS', 'IDEMPOTENCY_KEY_REUSED'];
const rule: TopUpRuleView = {
  id: '6f1c2a34-8b7e-4d2f-9a10-3c5e7b9d1f20',
  userId: ids.user,
  kind: 'threshold',
  thresholdCredits: 20,
  dayOfMonth: null,
  packageCode: 'credits_100',
  currency: 'USD',
  maxTopUpsPerMonth: 3,
  maxAmountMinorPerMonth: 3000,
  paymentMethodId: '0b7d5c1e-2f3a-4b6c-8d9e-1a2b3c4d5e6f',
  status: 'active',
  pausedReason: null,
  createdAt: '2026-01-31T12:00:00.000Z',
  updatedAt: '2026-01-31T12:00:00.000Z',
};
const intervalRule: TopUpRuleView = { ...rule, id: '7a2d3b45-9c8f-4e3a-8b21-4d6f8c0e2a31', kind: 'interval', thresholdCredits: null, dayOfMonth: 1, maxTopUpsPerMonth: 1 };
const intervalRuleRequest = { kind: 'interval' as const, dayOfMonth: 1, packageCode: 'credits_100', currency: 'USD', maxTopUpsPerMonth: 1 };
const pausedRule: TopUpRuleView = { ...rule, status: 'paused', pausedReason: 'by_user', updatedAt: '2026-02-02T08:00:00.000Z' };
const ruleRequest = { thresholdCredits: 20, packageCode: 'credits_100', currency: 'USD', maxTopUpsPerMonth: 3, maxAmountMinorPerMonth: 3000, paymentMethodId: '0b7d5c1e-2f3a-4b6c-8d9e-1a2b3c4d5e6f' };

const RULE_DESCRIPTION =
  'A threshold rule (`kind` `threshold`, the default): when available credits fall below `thresholdCredits`, buy `packageCode` in `currency`, at most `maxTopUpsPerMonth` refills or `maxAmountMinorPerMonth` charged per calendar month (UTC); at least one cap is required. An interval rule (`kind` `interval`): buy `packageCode` on `dayOfMonth` (1-28) of each month at 00:00 UTC, under the same caps, run by the Temporal Schedule `top-up-rule-<ruleId>` (created by this call; paused, resumed and deleted with the rule); each month is one refill `top-up-<ruleId>-<YYYY-MM>`. One rule per user, of either kind (ALREADY_EXISTS for a second). VALIDATION_FAILED when the field of its kind is missing or one of the other kind is given. 503 SERVICE_UNAVAILABLE when the rule was saved but its Schedule could not be written: the same call again (same Idempotency-Key) finishes it. Refused with PACKAGE_UNAVAILABLE (the package is not on sale or grants no credits), CURRENCY_NOT_SUPPORTED (no price in the currency), TOP_UP_CAP_TOO_LOW (the amount cap is below one purchase) or PAYMENT_METHOD_UNAVAILABLE (`paymentMethodId` is not one of the user’s saved methods: unknown, another user’s, or removed). Audited.';

/**
 * After a rule's write committed (or replayed), its Schedule is made to match the rule as it is now
 * (modules/topups interval-schedules.ts): a 2xx is never answered while an interval rule lacks its Schedule.
 */
async function withSchedule(deps: ApiDeps, result: IdempotentResult<TopUpRuleView>): Promise<IdempotentResult<TopUpRuleView>> {
  await syncRuleSchedule({ db: deps.db, temporal: deps.temporal, taskQueue: deps.config.TEMPORAL_TASK_QUEUE }, result.body);
  return result;
}

const methodBody = z.strictObject({
  channel: codeSchema.openapi({ description: 'A `gateway` payment channel.', example: 'gateway' }),
  token: z.string().min(1).max(200).openapi({ description: "The gateway's token for the saved method (its card page answers it); never card data.", example: 'tok_3f9c' }),
  label: z.string().trim().min(1).max(100).optional().openapi({ example: 'Visa ending 4242' }),
});
const methodParams = z.strictObject({ methodId: uuidSchema });
const methodList = z.object({ items: z.array(savedPaymentMethodSchema) }).openapi('SavedPaymentMethodList');
const method = { id: '0b7d5c1e-2f3a-4b6c-8d9e-1a2b3c4d5e6f', userId: ids.user, channel: 'gateway', label: 'Visa ending 4242', brand: null, last4: null, createdAt: '2026-01-31T12:00:00.000Z' };
const stripeMethod = { ...method, id: '5c2e8a1d-7b3f-4e9a-b6c0-2d4f6a8b0c1e', channel: 'stripe', label: 'visa ending 4242', brand: 'visa', last4: '4242' };
const stripeSetupBody = z.strictObject({
  channel: codeSchema.openapi({ description: 'An enabled `stripe` payment channel.', example: 'stripe' }),
});

export const topUpRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/me/payment-methods',
    access: USER,
    tag: 'User',
    operationId: 'createMyPaymentMethod',
    summary: 'Save a payment method',
    description: "Saves a gateway token for off-session charges (top-ups). Only the gateway's token is kept, never card data. CHANNEL_UNAVAILABLE when the channel is not an enabled `gateway` channel; ALREADY_EXISTS when the token is saved already. Audited.",
    body: methodBody,
    response: savedPaymentMethodSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['NOT_FOUND', 'CHANNEL_UNAVAILABLE', 'ALREADY_EXISTS', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { request: { channel: 'gateway', token: 'tok_3f9c', label: 'Visa ending 4242' }, response: method },
    handler: async ({ body, deps, idempotency, principal }) => saveGatewayToken(deps.db, ownUserId(principal), body, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/me/payment-methods/stripe-setups',
    access: USER,
    tag: 'User',
    operationId: 'createMyStripeSetup',
    summary: 'Save a card through Stripe',
    description:
      "Opens a Stripe Checkout Session in `setup` mode on the user's Stripe Customer (created once per user) and answers its `url`, where the user saves a card. Nothing is saved by this call: the method is listed once Stripe's signed event reports the setup done (`setup_intent.succeeded`, or `checkout.session.completed` in setup mode, at POST /v1/webhooks/stripe). CHANNEL_UNAVAILABLE when the channel is not an enabled `stripe` channel.",
    body: stripeSetupBody,
    response: stripeSetupSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['NOT_FOUND', 'CHANNEL_UNAVAILABLE', 'PAYMENT_PROVIDER_ERROR', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { request: { channel: 'stripe' }, response: { channel: 'stripe', sessionId: 'cs_test_a1b2c3', url: 'https://checkout.stripe.com/c/pay/cs_test_a1b2c3' } },
    handler: async ({ body, deps, idempotency, principal }) => startStripeSetup(deps.db, deps.payments, ownUserId(principal), body, idempotency),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/payment-methods',
    access: USER,
    tag: 'User',
    operationId: 'listMyPaymentMethods',
    summary: 'List my payment methods',
    description: 'My saved payment methods, oldest first, gateway tokens and Stripe cards alike (removed ones are not listed).',
    unpaged: 'A user saves a few payment methods: the whole list in one answer.',
    response: methodList,
    examples: { response: { items: [method, stripeMethod] } },
    handler: async ({ deps, principal }) => ({ body: await listPaymentMethods(deps.db, ownUserId(principal)) }),
  }),
  defineRoute({
    method: 'delete',
    path: '/v1/me/payment-methods/:methodId',
    access: USER,
    tag: 'User',
    operationId: 'deleteMyPaymentMethod',
    summary: 'Remove a payment method',
    description:
      "Asks the provider to forget the method (the gateway forgets the token, Stripe detaches the PaymentMethod), then removes it; the answer is the method as it was. Another user's method is NOT_FOUND; PAYMENT_METHOD_IN_USE while an active top-up rule charges it (pause or delete the rule first). Audited.",
    params: methodParams,
    response: savedPaymentMethodSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'PAYMENT_METHOD_IN_USE', 'PAYMENT_PROVIDER_ERROR', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { response: method },
    handler: async ({ params, deps, idempotency, principal }) => removePaymentMethod(deps.db, deps.payments, ownUserId(principal), params.methodId, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/top-ups',
    access: USER,
    tag: 'User',
    operationId: 'listMyTopUps',
    summary: 'List my refills',
    query: pageQuery(),
    description: "My rule's refills, newest first, a page at a time: the month each counted against and whether it took a slot of the monthly caps (`claimed`), found them reached (`capped`) or gave its slot back (`released`).",
    response: refillList,
    examples: { response: { items: [refillExample], nextCursor: null } },
    handler: async ({ deps, principal, query }) => ({ body: await listRefills(deps.db, ownUserId(principal), query) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/me/top-ups',
    access: USER,
    tag: 'User',
    operationId: 'createMyTopUp',
    summary: 'Buy a top-up now',
    description:
      "Buys `packageCode` with my saved payment method (`paymentMethodId`, default the newest) in one call, for an agent holding my token: answers 202 with the refill to poll (`GET /v1/me/top-ups/{refillId}`); `top_up.succeeded` (webhook, in-app, email) follows when it is paid, `top_up.requires_action` when the bank wants me present (open `actionUrl`, then `POST .../confirm`), `top_up.failed` when it gives up. The same Idempotency-Key answers the same top-up; another key is another purchase. With a top-up rule it counts against the rule's monthly caps, in the rule's currency (TOP_UP_CAP_REACHED when they have no room). Refused with PACKAGE_UNAVAILABLE, CURRENCY_NOT_SUPPORTED or PAYMENT_METHOD_REQUIRED (no usable saved method).",
    body: manualTopUpBody,
    response: topUpRefillSchema,
    successStatus: 202,
    idempotent: true,
    errors: ['NOT_FOUND', 'PACKAGE_UNAVAILABLE', 'CURRENCY_NOT_SUPPORTED', 'PAYMENT_METHOD_REQUIRED', 'TOP_UP_CAP_REACHED', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { request: { packageCode: 'credits_100' }, response: manualRefillExample },
    handler: async ({ body, deps, idempotency, principal }) =>
      startManualTopUp({ db: deps.db, temporal: deps.temporal, taskQueue: deps.config.TEMPORAL_TASK_QUEUE }, ownUserId(principal), body, idempotency!),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/top-ups/:refillId',
    access: USER,
    tag: 'User',
    operationId: 'getMyTopUp',
    summary: 'Get one of my refills',
    description: "One of my refills (a manual top-up or one my rule started), to poll its `outcome`: `pending`, `requires_action` (open `actionUrl`), `succeeded` or `failed` (`failureReason`). Another user's is NOT_FOUND.",
    params: refillParams,
    response: topUpRefillSchema,
    errors: ['NOT_FOUND'],
    examples: { response: refillExample },
    handler: async ({ params, deps, principal }) => ({ body: await getRefill(deps.db, ownUserId(principal), params.refillId) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/me/top-ups/:refillId/confirm',
    access: USER,
    tag: 'User',
    operationId: 'resumeMyTopUp',
    summary: 'Confirm a top-up the bank asked me to complete',
    description:
      'After completing the payment at `actionUrl` (3-D Secure), tells the waiting refill to charge again; the gateway answers the completed payment and the refill goes on. Answers the refill as it was (poll it for the outcome); a refill not waiting is answered unchanged. Not completed within 24 hours, the refill fails (`action_abandoned`).',
    params: refillParams,
    body: emptyBody,
    response: topUpRefillSchema,
    successStatus: 202,
    errors: ['NOT_FOUND'],
    examples: { request: {}, response: actionRefillExample },
    handler: async ({ params, deps, principal }) => ({ body: await confirmTopUpAction(deps, ownUserId(principal), params.refillId) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/me/top-up-rules',
    access: USER,
    tag: 'User',
    operationId: 'createMyTopUpRule',
    summary: 'Create my top-up rule',
    description: RULE_DESCRIPTION,
    body: ruleBody,
    response: topUpRuleSchema,
    successStatus: 201,
    idempotent: true,
    errors: RULE_ERRORS,
    examples: { request: ruleRequest, response: rule },
    handler: async ({ body, deps, idempotency, principal }) => withSchedule(deps, await createTopUpRule(deps.db, ownUserId(principal), body, idempotency, principal!.id)),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/top-up-rules',
    access: USER,
    tag: 'User',
    operationId: 'listMyTopUpRules',
    summary: 'List my top-up rules',
    description: 'My top-up rules (at most one).',
    unpaged: 'A user has at most one top-up rule.',
    response: ruleList,
    examples: { response: { items: [rule] } },
    handler: async ({ deps, principal }) => ({ body: await listTopUpRules(deps.db, ownUserId(principal)) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/top-up-rules/:ruleId',
    access: USER,
    tag: 'User',
    operationId: 'getMyTopUpRule',
    summary: 'Get my top-up rule',
    description: 'One of my top-up rules; another user’s is NOT_FOUND.',
    params: myRuleParams,
    response: topUpRuleSchema,
    errors: ['NOT_FOUND'],
    examples: { response: rule },
    handler: async ({ params, deps, principal }) => ({ body: await getTopUpRule(deps.db, ownUserId(principal), params.ruleId) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/me/top-up-rules/:ruleId/pause',
    access: USER,
    tag: 'User',
    operationId: 'pauseMyTopUpRule',
    summary: 'Pause my top-up rule',
    description: 'No refill starts while the rule is paused (`pausedReason: by_user`). Audited.',
    params: myRuleParams,
    body: emptyBody,
    response: topUpRuleSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { request: {}, response: pausedRule },
    handler: async ({ params, deps, idempotency, principal }) => withSchedule(deps, await setTopUpRulePaused(deps.db, ownUserId(principal), params.ruleId, 'by_user', idempotency, principal!.id)),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/me/top-up-rules/:ruleId/resume',
    access: USER,
    tag: 'User',
    operationId: 'resumeMyTopUpRule',
    summary: 'Resume my top-up rule',
    description: 'Makes a paused rule active again, after checking it as on creation (its package or price may have changed meanwhile). Audited.',
    params: myRuleParams,
    body: emptyBody,
    response: topUpRuleSchema,
    idempotent: true,
    errors: RULE_ERRORS.filter((code) => code !== 'ALREADY_EXISTS'),
    examples: { request: {}, response: rule },
    handler: async ({ params, deps, idempotency, principal }) => withSchedule(deps, await setTopUpRulePaused(deps.db, ownUserId(principal), params.ruleId, null, idempotency, principal!.id)),
  }),
  defineRoute({
    method: 'delete',
    path: '/v1/me/top-up-rules/:ruleId',
    access: USER,
    tag: 'User',
    operationId: 'deleteMyTopUpRule',
    summary: 'Delete my top-up rule',
    description: 'Deletes the rule; the answer is the rule as it was. Audited.',
    params: myRuleParams,
    response: topUpRuleSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { response: rule },
    handler: async ({ params, deps, idempotency, principal }) => withSchedule(deps, await deleteTopUpRule(deps.db, ownUserId(principal), params.ruleId, idempotency, principal!.id)),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/users/:userId/top-up-rules',
    access: ADMIN,
    tag: 'Admin',
    operationId: 'createUserTopUpRule',
    summary: "Create a user's top-up rule",
    description: RULE_DESCRIPTION,
    params: userParams,
    body: ruleBody,
    response: topUpRuleSchema,
    successStatus: 201,
    idempotent: true,
    errors: RULE_ERRORS,
    examples: { request: intervalRuleRequest, response: { ...intervalRule, pausedReason: null } },
    handler: async ({ params, body, deps, idempotency, principal }) => withSchedule(deps, await createTopUpRule(deps.db, params.userId, body, idempotency, principal!.id)),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/users/:userId/top-up-rules',
    access: ADMIN,
    tag: 'Admin',
    operationId: 'listUserTopUpRules',
    summary: "List a user's top-up rules",
    description: "A user's top-up rules (at most one).",
    unpaged: 'A user has at most one top-up rule.',
    params: userParams,
    response: ruleList,
    examples: { response: { items: [rule] } },
    handler: async ({ params, deps }) => ({ body: await listTopUpRules(deps.db, params.userId) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/users/:userId/top-up-rules/:ruleId',
    access: ADMIN,
    tag: 'Admin',
    operationId: 'getUserTopUpRule',
    summary: "Get a user's top-up rule",
    description: "One of the user's top-up rules.",
    params: userRuleParams,
    response: topUpRuleSchema,
    errors: ['NOT_FOUND'],
    examples: { response: rule },
    handler: async ({ params, deps }) => ({ body: await getTopUpRule(deps.db, params.userId, params.ruleId) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/users/:userId/top-up-rules/:ruleId/pause',
    access: ADMIN,
    tag: 'Admin',
    operationId: 'pauseUserTopUpRule',
    summary: "Pause a user's top-up rule",
    description: 'No refill starts while the rule is paused (`pausedReason: by_admin`). Audited.',
    params: userRuleParams,
    body: emptyBody,
    response: topUpRuleSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { request: {}, response: { ...pausedRule, pausedReason: 'by_admin' } },
    handler: async ({ params, deps, idempotency, principal }) => withSchedule(deps, await setTopUpRulePaused(deps.db, params.userId, params.ruleId, 'by_admin', idempotency, principal!.id)),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/users/:userId/top-up-rules/:ruleId/resume',
    access: ADMIN,
    tag: 'Admin',
    operationId: 'resumeUserTopUpRule',
    summary: "Resume a user's top-up rule",
    description: 'Makes a paused rule active again, after checking it as on creation. Audited.',
    params: userRuleParams,
    body: emptyBody,
    response: topUpRuleSchema,
    idempotent: true,
    errors: RULE_ERRORS.filter((code) => code !== 'ALREADY_EXISTS'),
    examples: { request: {}, response: rule },
    handler: async ({ params, deps, idempotency, principal }) => withSchedule(deps, await setTopUpRulePaused(deps.db, params.userId, params.ruleId, null, idempotency, principal!.id)),
  }),
  defineRoute({
    method: 'delete',
    path: '/v1/admin/users/:userId/top-up-rules/:ruleId',
    access: ADMIN,
    tag: 'Admin',
    operationId: 'deleteUserTopUpRule',
    summary: "Delete a user's top-up rule",
    description: 'Deletes the rule; the answer is the rule as it was. Audited.',
    params: userRuleParams,
    response: topUpRuleSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { response: rule },
    handler: async ({ params, deps, idempotency, principal }) => withSchedule(deps, await deleteTopUpRule(deps.db, params.userId, params.ruleId, idempotency, principal!.id)),
  }),
];
