import { z } from '../../infra/zod';
import { BillingError } from '../../domain/errors';
import { cancelOrder, confirmManualPayment, getOrder, listOrderRefunds, listOrders, openRefund, placeOrder, type PlaceOrderRequest } from '../../orders/store';
import { orderRefundSchema, orderSchema, orderStatusSchema, orderView, orderWithProgressSchema, subscriptionSchema, type OrderView } from '../../orders/views';
import { listSubscriptions } from '../../subscriptions/provision';
import type { Principal } from '../auth';
import type { ApiDeps } from '../deps';
import { defineRoute, type RouteDefinition } from '../route';
import type { Idempotency } from '../../domain/idempotency';
import { isoDate, listOf, rangeInOrder, rangeInOrderIssue, userIdSchema, uuidSchema } from '../schemas';

/** Orders (user, service, admin) and subscriptions. Handlers call orders/ and subscriptions/ services only. */
const USER = ['user' as const];
const SERVICE = ['service' as const];
const ADMIN = ['admin' as const];

function ownUserId(principal: Principal | undefined): string {
  if (!principal?.userId) throw new BillingError('FORBIDDEN', 'This credential is not bound to a user.');
  return principal.userId;
}

const codeSchema = z.string().min(1).max(64).regex(/^[a-z0-9]+(?:[_-][a-z0-9]+)*$/, 'lower_snake_case or kebab-case');
const orderBody = z.strictObject({
  packageCode: codeSchema.openapi({ example: 'monthly_membership' }),
  channel: codeSchema.openapi({ description: 'A payment channel code from GET /v1/payment-channels.', example: 'stripe' }),
  currency: z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code in upper case').optional().openapi({ description: "One of the package's prices (GET /v1/packages/:code/prices) that the channel takes; default the package's own.", example: 'JPY' }),
  couponCode: z.string().min(3).max(40).regex(/^[A-Z0-9][A-Z0-9_-]*$/, 'upper case letters, digits, _ and -').optional().openapi({ description: 'A promo code; refused with COUPON_NOT_APPLICABLE and details.reason when it does not apply.' }),
});
const serviceOrderBody = orderBody.extend({ userId: userIdSchema });
const orderParams = z.strictObject({ orderId: uuidSchema });
const orderList = listOf(orderSchema).openapi('OrderList');
const adminOrdersQuery = z
  .object({
    status: orderStatusSchema.optional(),
    userId: userIdSchema.optional(),
    channel: codeSchema.optional(),
    from: isoDate.optional(),
    to: isoDate.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .refine(rangeInOrder, rangeInOrderIssue);
const markPaidBody = z.strictObject({
  reason: z.string().trim().min(1).max(500).openapi({ description: 'How the money came in, e.g. "bank transfer ref 2026-118".' }),
});
const refundBody = z.strictObject({
  amountMinor: z.number().int().min(1).max(2_147_483_647).optional().openapi({ description: 'Default: everything not yet refunded.' }),
  reason: z.string().trim().min(1).max(500),
});
const refundList = listOf(orderRefundSchema).openapi('OrderRefundList');
const subscriptionList = listOf(subscriptionSchema).openapi('SubscriptionList');

/** Places the order, then starts its workflow and waits for the payment session (Stripe Checkout URL, gateway redirect). */
async function place(deps: ApiDeps, request: PlaceOrderRequest, idempotency: Idempotency, actor: string) {
  const placed = await placeOrder(deps.db, request, deps.payments.orderExpirySeconds, idempotency, actor);
  if (placed.body.status === 'pending_payment' && placed.body.paymentUrl === null) {
    await deps.orders.openPayment(placed.body);
    return { body: orderView(await getOrder(deps.db, placed.body.id)), replayed: placed.replayed };
  }
  return placed;
}

async function withProgress(deps: ApiDeps, order: OrderView) {
  return { ...order, progress: await deps.orders.progress(order.id) };
}

export const orderRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/me/orders',
    access: USER,
    tag: 'User',
    summary: 'Order a package through a payment channel; answers with where to pay. An unpaid order for the same package is returned instead of a second one.',
    body: orderBody,
    response: orderSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['NOT_FOUND', 'PACKAGE_UNAVAILABLE', 'CHANNEL_UNAVAILABLE', 'CURRENCY_NOT_SUPPORTED', 'COUPON_NOT_APPLICABLE', 'ALREADY_OWNED', 'PAYMENT_PROVIDER_ERROR', 'SERVICE_UNAVAILABLE', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ body, deps, idempotency, principal }) => place(deps, { ...body, userId: ownUserId(principal) }, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/orders',
    access: USER,
    tag: 'User',
    summary: 'My orders, newest first.',
    query: z.object({ status: orderStatusSchema.optional() }),
    response: orderList,
    handler: async ({ principal, query, deps }) => ({ body: { items: await listOrders(deps.db, { userId: ownUserId(principal), status: query.status, limit: 200 }) } }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/orders/:orderId',
    access: USER,
    tag: 'User',
    summary: "One of my orders with its workflow's progress (current step, attempts, last error).",
    params: orderParams,
    response: orderWithProgressSchema,
    errors: ['NOT_FOUND'],
    handler: async ({ principal, params, deps }) => ({ body: await withProgress(deps, orderView(await getOrder(deps.db, params.orderId, ownUserId(principal)))) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/me/orders/:orderId/cancel',
    access: USER,
    tag: 'User',
    summary: 'Cancel my unpaid order. A payment that still arrives follows the late-payment rule.',
    params: orderParams,
    body: z.strictObject({}),
    response: orderSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'ORDER_STATE_CONFLICT', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ principal, params, deps, idempotency }) => {
      const cancelled = await cancelOrder(deps.db, params.orderId, ownUserId(principal), idempotency);
      if (!cancelled.replayed) await deps.orders.notifyCancelled(params.orderId);
      return cancelled;
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/subscriptions',
    access: USER,
    tag: 'User',
    summary: 'My subscriptions with their current period and the history of paid periods.',
    response: subscriptionList,
    handler: async ({ principal, deps }) => ({ body: { items: await listSubscriptions(deps.db, ownUserId(principal)) } }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/internal/orders',
    access: SERVICE,
    tag: 'Internal (service)',
    summary: "Order a package for a user (e.g. prepaid credits bought by an AI agent's account).",
    body: serviceOrderBody,
    response: orderSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['NOT_FOUND', 'PACKAGE_UNAVAILABLE', 'CHANNEL_UNAVAILABLE', 'CURRENCY_NOT_SUPPORTED', 'COUPON_NOT_APPLICABLE', 'ALREADY_OWNED', 'PAYMENT_PROVIDER_ERROR', 'SERVICE_UNAVAILABLE', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ body, deps, idempotency, principal }) => place(deps, body, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/internal/orders/:orderId',
    access: SERVICE,
    tag: 'Internal (service)',
    summary: 'An order with its progress.',
    params: orderParams,
    response: orderWithProgressSchema,
    errors: ['NOT_FOUND'],
    handler: async ({ params, deps }) => ({ body: await withProgress(deps, orderView(await getOrder(deps.db, params.orderId))) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/orders',
    access: ADMIN,
    tag: 'Admin',
    summary: 'Orders, newest first, filtered by status, user, channel and creation time [from, to).',
    query: adminOrdersQuery,
    response: orderList,
    handler: async ({ query, deps }) => ({ body: { items: await listOrders(deps.db, query) } }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/orders/:orderId',
    access: ADMIN,
    tag: 'Admin',
    summary: 'An order with its progress.',
    params: orderParams,
    response: orderWithProgressSchema,
    errors: ['NOT_FOUND'],
    handler: async ({ params, deps }) => ({ body: await withProgress(deps, orderView(await getOrder(deps.db, params.orderId))) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/orders/:orderId/mark-paid',
    access: ADMIN,
    tag: 'Admin',
    summary: 'Confirm a payment received outside the system (bank transfer, cash); the order workflow provisions it. Answers 202.',
    params: orderParams,
    body: markPaidBody,
    response: orderSchema,
    successStatus: 202,
    idempotent: true,
    errors: ['NOT_FOUND', 'ORDER_STATE_CONFLICT', 'SERVICE_UNAVAILABLE', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ params, body, deps, idempotency, principal }) =>
      // Repeating it under another key is harmless: the workflow records the manual payment once (same external id).
      confirmManualPayment(deps.db, params.orderId, idempotency, deps.config.RESERVATION_CALL_TIMEOUT_MS, (order) =>
        deps.orders.deliverPayment(order.id, order.userId, {
          outcome: 'succeeded',
          source: 'manual',
          externalId: 'manual',
          amountMinor: order.amountMinor,
          currency: order.currency,
          actor: principal!.id,
          note: body.reason,
          eventId: `mark-paid:${principal!.id}`,
        }),
      ),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/orders/:orderId/refund',
    access: ADMIN,
    tag: 'Admin',
    summary: 'Refund a completed order in full or in part: the channel gives the money back, then the refunded share of credits and subscription time is revoked. Answers 202 with the pending refund.',
    params: orderParams,
    body: refundBody,
    response: orderRefundSchema,
    successStatus: 202,
    idempotent: true,
    errors: ['NOT_FOUND', 'ORDER_STATE_CONFLICT', 'REFUND_EXCEEDS_PAYMENT', 'SERVICE_UNAVAILABLE', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ params, body, deps, idempotency, principal }) => {
      const order = await getOrder(deps.db, params.orderId);
      const refund = await openRefund(deps.db, order.id, body, idempotency, principal!.id);
      await deps.orders.startRefund(refund.body, order.userId); // a retry finds the same run
      return refund;
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/orders/:orderId/refunds',
    access: ADMIN,
    tag: 'Admin',
    summary: "An order's refunds with what each revoked and its shortfall.",
    params: orderParams,
    response: refundList,
    errors: ['NOT_FOUND'],
    handler: async ({ params, deps }) => {
      await getOrder(deps.db, params.orderId);
      return { body: { items: await listOrderRefunds(deps.db, params.orderId) } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/users/:userId/subscriptions',
    access: ADMIN,
    tag: 'Admin',
    summary: "A user's subscriptions with their period history.",
    params: z.strictObject({ userId: userIdSchema }),
    response: subscriptionList,
    handler: async ({ params, deps }) => ({ body: { items: await listSubscriptions(deps.db, params.userId) } }),
  }),
];
