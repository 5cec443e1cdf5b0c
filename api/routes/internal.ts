import { z } from '../../infra/zod';
import { checkCredits, deductCredits } from '../../credits/spend';
import { consumptionSchema, refundSchema, reservationSchema } from '../../credits/views';
import { ReservationService } from '../../reservations/service';
import { defineRoute, type RouteDefinition } from '../route';
import { actionKeySchema, creditsSchema, quantitySchema, userIdSchema, uuidSchema } from '../schemas';

/** Seconds a hold lasts; at most ten years here (the configured maximum, RESERVATION_MAX_HOLD_SECONDS, is checked by the workflow). */
const holdSecondsSchema = z.number().int().min(1).max(315_360_000);

/** Endpoints for business services (service credential). */
const SERVICE = ['service' as const];
const TAG = 'Internal (service)';

const checkBody = z.strictObject({ userId: userIdSchema, actionKey: actionKeySchema, quantity: quantitySchema.default(1) });
const deductBody = checkBody.extend({
  metadata: z.record(z.string(), z.unknown()).optional().openapi({ description: 'Stored with the consumption record.' }),
});
const reserveBody = checkBody.extend({
  holdSeconds: holdSecondsSchema.optional().openapi({
    description: 'How long the hold lasts before it is released automatically. Default and maximum come from configuration.',
  }),
});
const reservationParams = z.strictObject({ reservationId: uuidSchema });
const commitBody = z.strictObject({
  quantity: quantitySchema.optional().openapi({ description: 'Units actually used; at most the reserved quantity. Default: all.' }),
});
const extendBody = z.strictObject({ holdSeconds: holdSecondsSchema });
const refundBody = z.strictObject({
  credits: creditsSchema.optional().openapi({ description: 'Credits to refund. Default: everything not yet refunded.' }),
  reason: z.string().trim().min(1).max(500),
});
const emptyBody = z.strictObject({});

const reservationState = z
  .object({ reservation: reservationSchema, phase: z.string(), refunds: z.array(refundSchema) })
  .openapi('ReservationState');
const commitResult = z.object({ reservation: reservationSchema, consumption: consumptionSchema }).openapi('CommitResult');

export const internalRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/internal/credits/check',
    access: SERVICE,
    tag: TAG,
    summary: 'Would the user afford this action now? (Read-only; reserve to be sure.)',
    body: checkBody,
    response: z
      .object({
        userId: z.string(),
        actionKey: z.string(),
        quantity: z.number().int(),
        required: z.number().int(),
        available: z.number().int(),
        sufficient: z.boolean(),
      })
      .openapi('CreditCheck'),
    errors: ['NOT_FOUND', 'ACTION_DISABLED'],
    handler: async ({ body, deps }) => ({ body: await checkCredits(deps.db, body.userId, body.actionKey, body.quantity) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/internal/credits/deduct',
    access: SERVICE,
    tag: TAG,
    summary: 'Check and spend in one transaction, for quick one-shot actions.',
    body: deductBody,
    response: consumptionSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['INSUFFICIENT_CREDITS', 'NOT_FOUND', 'ACTION_DISABLED', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ body, deps, idempotency, principal }) => {
      return deductCredits(deps.db, body, idempotency, principal!.id, deps.deducts);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/internal/reservations',
    access: SERVICE,
    tag: TAG,
    summary: 'Hold credits before a long action (the API holds, then starts the reservation workflow that guards the hold).',
    body: reserveBody,
    response: reservationSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['INSUFFICIENT_CREDITS', 'NOT_FOUND', 'ACTION_DISABLED', 'HOLD_LIMIT_EXCEEDED', 'IDEMPOTENCY_KEY_REUSED', 'SERVICE_UNAVAILABLE'],
    handler: async ({ req, body, deps, idempotency, principal }) =>
      new ReservationService(deps, req.log).reserve(body, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/internal/reservations/:reservationId',
    access: ['service', 'admin'],
    tag: TAG,
    summary: "A reservation's state (the workflow's query while it runs, the database record after).",
    params: reservationParams,
    response: reservationState,
    errors: ['NOT_FOUND', 'SERVICE_UNAVAILABLE'],
    handler: async ({ req, params, deps, principal }) => ({ body: await new ReservationService(deps, req.log).state(params.reservationId, principal!.id) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/internal/reservations/:reservationId/commit',
    access: SERVICE,
    tag: TAG,
    summary: 'Spend what was used (at most what is held); the rest goes back.',
    params: reservationParams,
    body: commitBody,
    response: commitResult,
    idempotent: true,
    errors: ['NOT_FOUND', 'RESERVATION_NOT_HELD', 'COMMIT_EXCEEDS_HOLD', 'IDEMPOTENCY_KEY_REUSED', 'SERVICE_UNAVAILABLE'],
    handler: async ({ req, params, body, deps, idempotency, principal }) =>
      new ReservationService(deps, req.log).commit(params.reservationId, body.quantity, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/internal/reservations/:reservationId/release',
    access: SERVICE,
    tag: TAG,
    summary: 'Give all held credits back (the action did not happen).',
    params: reservationParams,
    body: emptyBody,
    response: reservationSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'RESERVATION_NOT_HELD', 'IDEMPOTENCY_KEY_REUSED', 'SERVICE_UNAVAILABLE'],
    handler: async ({ req, params, deps, idempotency, principal }) =>
      new ReservationService(deps, req.log).release(params.reservationId, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/internal/reservations/:reservationId/extend',
    access: SERVICE,
    tag: TAG,
    summary: 'Move the hold deadline to now + holdSeconds (bounded by the maximum hold from creation).',
    params: reservationParams,
    body: extendBody,
    response: reservationSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'RESERVATION_NOT_HELD', 'HOLD_LIMIT_EXCEEDED', 'IDEMPOTENCY_KEY_REUSED', 'SERVICE_UNAVAILABLE'],
    handler: async ({ req, params, body, deps, idempotency, principal }) =>
      new ReservationService(deps, req.log).extend(params.reservationId, body.holdSeconds, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/internal/reservations/:reservationId/refund',
    access: SERVICE,
    tag: TAG,
    summary: "Refund a committed reservation's consumption, in full or in part (compensation for a failed action).",
    params: reservationParams,
    body: refundBody,
    response: refundSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['NOT_FOUND', 'RESERVATION_NOT_HELD', 'REFUND_EXCEEDS_CONSUMPTION', 'IDEMPOTENCY_KEY_REUSED', 'SERVICE_UNAVAILABLE'],
    handler: async ({ req, params, body, deps, idempotency, principal }) =>
      new ReservationService(deps, req.log).refund(params.reservationId, body, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/internal/consumptions/:consumptionId/refund',
    access: SERVICE,
    tag: TAG,
    summary: 'Refund any consumption (e.g. a direct deduct), in full or in part.',
    params: z.strictObject({ consumptionId: uuidSchema }),
    body: refundBody,
    response: refundSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['NOT_FOUND', 'REFUND_EXCEEDS_CONSUMPTION', 'IDEMPOTENCY_KEY_REUSED', 'SERVICE_UNAVAILABLE'],
    handler: async ({ req, params, body, deps, idempotency, principal }) =>
      new ReservationService(deps, req.log).refundConsumption(params.consumptionId, body, idempotency, principal!.id),
  }),
];
