import { z } from '../../platform/zod';
import { checkCredits, deductCredits, consumptionSchema, refundSchema, reservationSchema } from '../../modules/credits';
import { ReservationService } from '../../modules/reservations';
import { offerBookFor, purchaseOfferSchema, topUpStateSchema } from '../../modules/topups';
import type { Database } from '../../platform/database';
import { committedReservation, consumption, ids, refund, reservation } from '../examples';
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

/** Runs a spend; an INSUFFICIENT_CREDITS refusal leaves with its shortfall and offers (modules/topups). */
async function offeringOnRefusal<T>(db: Database, userId: string, spend: () => Promise<T>): Promise<T> {
  try {
    return await spend();
  } catch (error) {
    throw await offerBookFor(db).withOffers(userId, error);
  }
}

const reservationState = z
  .object({ reservation: reservationSchema, phase: z.string(), refunds: z.array(refundSchema) })
  .openapi('ReservationState');
const commitResult = z.object({ reservation: reservationSchema, consumption: consumptionSchema }).openapi('CommitResult');

const directConsumption = { ...consumption, actionKey: 'pdf_export', quantity: 2, unitPrice: 2, creditsCost: 4, reservationId: null, allocations: [{ grantId: ids.grant, credits: 4 }] };

export const internalRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/internal/credits/check',
    access: SERVICE,
    tag: TAG,
    operationId: 'checkCredits',
    summary: 'Check whether a user can afford an action',
    description:
      'Whether the user could afford `quantity` units of the action now, and what it would cost. Read-only and not a promise: another spend may come first; reserve to be sure.',
    body: checkBody,
    response: z
      .object({
        userId: z.string(),
        actionKey: z.string(),
        quantity: z.number().int(),
        required: z.number().int(),
        available: z.number().int(),
        sufficient: z.boolean(),
        shortfall: z.number().int().openapi({ description: 'Credits missing: required - available, 0 when sufficient.' }),
        offers: z.array(purchaseOfferSchema).openapi({
          description: 'When not sufficient: the packages that cover the shortfall, smallest first, at most 3, each with the call that buys it (the same as INSUFFICIENT_CREDITS details.offers). Empty when sufficient.',
        }),
        topUp: topUpStateSchema.optional().openapi({ description: 'When not sufficient and the user has an active top-up rule or a refill under way: whether credits are coming, and when to check again.' }),
      })
      .openapi('CreditCheck'),
    errors: ['NOT_FOUND', 'ACTION_DISABLED'],
    examples: {
      request: { userId: ids.user, actionKey: 'resume_optimize', quantity: 1 },
      response: { userId: ids.user, actionKey: 'resume_optimize', quantity: 1, required: 5, available: 395, sufficient: true, shortfall: 0, offers: [] },
    },
    handler: async ({ body, deps }) => {
      const check = await checkCredits(deps.db, body.userId, body.actionKey, body.quantity);
      const { shortfall, offers, topUp } = await offerBookFor(deps.db).shortfall(body.userId, check.required, check.available);
      return { body: { ...check, shortfall, offers, ...(topUp ? { topUp } : {}) } };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/internal/credits/deduct',
    access: SERVICE,
    tag: TAG,
    operationId: 'deductCredits',
    summary: 'Spend credits for a quick action',
    description:
      'Checks and spends in one transaction, for quick one-shot actions: the credits are drawn from the grants in burn-down order and the consumption is recorded with its metadata. Refused with INSUFFICIENT_CREDITS (nothing spent) when the user cannot afford it; its details carry the shortfall and the packages that cover it, with the call that buys each (docs/api.md, "When credits run out"). A `credits.deducted` event is sent.',
    body: deductBody,
    response: consumptionSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['INSUFFICIENT_CREDITS', 'NOT_FOUND', 'ACTION_DISABLED', 'IDEMPOTENCY_KEY_REUSED'],
    examples: {
      request: { userId: ids.user, actionKey: 'pdf_export', quantity: 2, metadata: { documentId: 'doc-311' } },
      response: directConsumption,
    },
    handler: async ({ body, deps, idempotency, principal }) => {
      return offeringOnRefusal(deps.db, body.userId, () => deductCredits(deps.db, body, idempotency, principal!.id, deps.deducts));
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/internal/reservations',
    access: SERVICE,
    tag: TAG,
    operationId: 'createReservation',
    summary: 'Hold credits for a long action',
    description:
      'Holds the credits a long action will need before it starts: the API holds them, then starts the reservation workflow that guards the hold. Commit what was used, release it, or let it lapse at `expiresAt` (the held credits go back).',
    body: reserveBody,
    response: reservationSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['INSUFFICIENT_CREDITS', 'NOT_FOUND', 'ACTION_DISABLED', 'HOLD_LIMIT_EXCEEDED', 'IDEMPOTENCY_KEY_REUSED', 'SERVICE_UNAVAILABLE'],
    examples: { request: { userId: ids.user, actionKey: 'resume_optimize', quantity: 1, holdSeconds: 900 }, response: reservation },
    handler: async ({ log, body, deps, idempotency, principal }) =>
      offeringOnRefusal(deps.db, body.userId, () => new ReservationService(deps, log).reserve(body, idempotency, principal!.id)),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/internal/reservations/:reservationId',
    access: ['service', 'admin'],
    tag: TAG,
    operationId: 'getReservation',
    summary: 'Get a reservation',
    description:
      "A reservation's state: the workflow's answer while it runs, the database record after. A service sees only its own reservations; an admin sees any.",
    params: reservationParams,
    response: reservationState,
    errors: ['NOT_FOUND', 'SERVICE_UNAVAILABLE'],
    examples: { response: { reservation, phase: 'held', refunds: [] } },
    handler: async ({ log, params, deps, principal }) => ({ body: await new ReservationService(deps, log).state(params.reservationId, principal!.id) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/internal/reservations/:reservationId/commit',
    access: SERVICE,
    tag: TAG,
    operationId: 'commitReservation',
    summary: 'Spend what a reservation used',
    description:
      'Spends the units actually used (at most the reserved quantity; default all); the rest of the hold goes back. A `reservation.committed` event is sent.',
    params: reservationParams,
    body: commitBody,
    response: commitResult,
    idempotent: true,
    errors: ['NOT_FOUND', 'RESERVATION_NOT_HELD', 'COMMIT_EXCEEDS_HOLD', 'IDEMPOTENCY_KEY_REUSED', 'SERVICE_UNAVAILABLE'],
    examples: { request: { quantity: 1 }, response: { reservation: committedReservation, consumption } },
    handler: async ({ log, params, body, deps, idempotency, principal }) =>
      new ReservationService(deps, log).commit(params.reservationId, body.quantity, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/internal/reservations/:reservationId/release',
    access: SERVICE,
    tag: TAG,
    operationId: 'releaseReservation',
    summary: 'Give a reservation back',
    description: 'Gives every held credit back: the action did not happen. A `reservation.released` event is sent.',
    params: reservationParams,
    body: emptyBody,
    response: reservationSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'RESERVATION_NOT_HELD', 'IDEMPOTENCY_KEY_REUSED', 'SERVICE_UNAVAILABLE'],
    examples: { request: {}, response: { ...reservation, status: 'released', settledAt: '2026-01-31T12:02:00.000Z' } },
    handler: async ({ log, params, deps, idempotency, principal }) =>
      new ReservationService(deps, log).release(params.reservationId, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/internal/reservations/:reservationId/extend',
    access: SERVICE,
    tag: TAG,
    operationId: 'extendReservation',
    summary: 'Extend a reservation',
    description:
      'Moves the hold deadline to now + holdSeconds, for an action that takes longer than planned; bounded by the maximum hold counted from the reservation\'s creation (HOLD_LIMIT_EXCEEDED beyond it).',
    params: reservationParams,
    body: extendBody,
    response: reservationSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'RESERVATION_NOT_HELD', 'HOLD_LIMIT_EXCEEDED', 'IDEMPOTENCY_KEY_REUSED', 'SERVICE_UNAVAILABLE'],
    examples: { request: { holdSeconds: 1800 }, response: { ...reservation, expiresAt: '2026-01-31T12:40:00.000Z' } },
    handler: async ({ log, params, body, deps, idempotency, principal }) =>
      new ReservationService(deps, log).extend(params.reservationId, body.holdSeconds, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/internal/reservations/:reservationId/refund',
    access: SERVICE,
    tag: TAG,
    operationId: 'refundReservation',
    summary: "Refund a reservation's spend",
    description:
      "Refunds a committed reservation's consumption, in full or in part, as compensation for an action that failed after all. The credits go back to the grants they came from (or to a replacement grant when one has expired). A `reservation.refunded` event is sent.",
    params: reservationParams,
    body: refundBody,
    response: refundSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['NOT_FOUND', 'RESERVATION_NOT_HELD', 'REFUND_EXCEEDS_CONSUMPTION', 'IDEMPOTENCY_KEY_REUSED', 'SERVICE_UNAVAILABLE'],
    examples: { request: { credits: 5, reason: 'The optimization failed downstream.' }, response: refund },
    handler: async ({ log, params, body, deps, idempotency, principal }) =>
      new ReservationService(deps, log).refund(params.reservationId, body, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/internal/consumptions/:consumptionId/refund',
    access: SERVICE,
    tag: TAG,
    operationId: 'refundConsumption',
    summary: 'Refund a consumption',
    description: 'Refunds any consumption (e.g. a direct deduct), in full or in part; the credits go back as for a reservation refund.',
    params: z.strictObject({ consumptionId: uuidSchema }),
    body: refundBody,
    response: refundSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['NOT_FOUND', 'REFUND_EXCEEDS_CONSUMPTION', 'IDEMPOTENCY_KEY_REUSED', 'SERVICE_UNAVAILABLE'],
    examples: {
      request: { reason: 'Export produced an empty file.' },
      response: { ...refund, credits: 4, reason: 'Export produced an empty file.', consumptionCreditsRefunded: 4, returnedTo: [{ grantId: ids.grant, credits: 4, replacementFor: null }] },
    },
    handler: async ({ log, params, body, deps, idempotency, principal }) =>
      new ReservationService(deps, log).refundConsumption(params.consumptionId, body, idempotency, principal!.id),
  }),
];
