import { z } from '../../platform/zod';
import { BillingError } from '../../platform/errors';
import { cancelOrder, confirmManualPayment, getOrder, listOrderRefunds, listOrders, openRefund, placeOrder, type PlaceOrderRequest, orderRefundSchema, orderSchema, orderStatusSchema, orderView, orderWithProgressSchema, subscriptionSchema, type OrderView } from '../../modules/orders';
import { listSubscriptions } from '../../modules/subscriptions';
import type { Principal } from '../auth';
import type { ApiDeps } from '../deps';
import { defineRoute, type RouteDefinition } from '../route';
import type { Idempotency } from '../../platform/idempotency/key-reuse';
import { completedOrder, examplePage, ids, order, orderProgress, orderRefund, subscription } from '../examples';
import { isoDate, pageOf, pageQuery, rangeInOrder, rangeInOrderIssue, userIdSchema, uuidSchema } from '../schemas';
import { codeSchema, couponCodeSchema, currencyCodeSchema } from '../../platform/schemas';

/** Orders (user, service, admin) and subscriptions. Handlers call orders/ and subscriptions/ services only. */
const USER = ['user' as const];
const SERVICE = ['service' as const];
const ADMIN = ['admin' as const];

function ownUserId(principal: Principal | undefined): string {
  if (!principal?.userId) throw new BillingError('FORBIDDEN', 'This credential is not bound to a user.');
  return principal.userId;
}

const orderBody = z.strictObject({
  packageCode: codeSchema.openapi({ example: 'monthly_membership' }),
  channel: codeSchema.openapi({ description: 'A payment channel code from GET /v1/payment-channels.', example: 'stripe' }),
  currency: currencyCodeSchema.optional().openapi({ description: "One of the package's prices (GET /v1/packages/:code/prices) that the channel takes; default the package's own.", example: 'JPY' }),
  couponCode: couponCodeSchema.optional().openapi({ description: 'A promo code; refused with COUPON_NOT_APPLICABLE and details.reason when it does not apply.' }),
});
const serviceOrderBody = orderBody.extend({ userId: userIdSchema });
const orderParams = z.strictObject({ orderId: uuidSchema });
const orderList = pageOf(orderSchema).openapi('OrderList');
const adminOrdersQuery = pageQuery()
  .extend({
    status: orderStatusSchema.optional(),
    userId: userIdSchema.optional(),
    channel: codeSchema.optional(),
    from: isoDate.optional(),
    to: isoDate.optional(),
  })
  .refine(rangeInOrder, rangeInOrderIssue);
/** The user's order list answered up to 200 before it paged: the first page still does. */
const myOrdersQuery = pageQuery({ default: 200, max: 200 }).extend({ status: orderStatusSchema.optional() });
/** A user's subscriptions and an order's refunds are few: a first page this long answers them all. */
const SHORT_LIST_PAGE = { default: 200, max: 500 };
const markPaidBody = z.strictObject({
  reason: z.string().trim().min(1).max(500).openapi({ description: 'How the money came in, e.g. "bank transfer ref 2026-118".' }),
});
const refundBody = z.strictObject({
  amountMinor: z.number().int().min(1).max(2_147_483_647).optional().openapi({ description: 'Default: everything not yet refunded.' }),
  reason: z.string().trim().min(1).max(500),
});
const refundList = pageOf(orderRefundSchema).openapi('OrderRefundList');
const subscriptionList = pageOf(subscriptionSchema).openapi('SubscriptionList');
const orderWithProgress = { ...completedOrder, progress: orderProgress };
const ORDER_ERRORS = ['NOT_FOUND', 'PACKAGE_UNAVAILABLE', 'CHANNEL_UNAVAILABLE', 'CURRENCY_NOT_SUPPORTED', 'COUPON_NOT_APPLICABLE', 'ALREADY_OWNED', 'PAYMENT_PROVIDER_ERROR', 'SERVICE_UNAVAILABLE', 'IDEMPOTENCY_KEY_REUSED'];

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
    operationId: 'placeMyOrder',
    summary: 'Order a package',
    description:
      'Order a package through a payment channel; the answer says where to pay (`paymentUrl`: Stripe Checkout or the gateway redirect; null for manual payment). An unpaid order for the same package is answered instead of a second one. A coupon that does not apply is refused with COUPON_NOT_APPLICABLE and `details.reason`. `subtotalMinor`, `taxMinor` and `totalMinor` say what will be charged, fixed now at the rate of the buyer\'s billing country: with tax-exclusive prices the total is the price after the coupon plus tax (docs/api.md, Tax).',
    body: orderBody,
    response: orderSchema,
    successStatus: 201,
    idempotent: true,
    errors: ORDER_ERRORS,
    examples: {
      request: { packageCode: 'pro_monthly', channel: 'stripe', currency: 'USD', couponCode: 'LAUNCH20' },
      // Tax-exclusive prices: 799 after the coupon, 8.25 % on top (65.9 -> 66).
      response: { ...order, amountMinor: 865, subtotalMinor: 799, taxMinor: 66, totalMinor: 865, tax: { mode: 'exclusive', rateBasisPoints: 825, country: 'US' } },
    },
    handler: async ({ body, deps, idempotency, principal }) => place(deps, { ...body, userId: ownUserId(principal) }, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/orders',
    access: USER,
    tag: 'User',
    operationId: 'listMyOrders',
    summary: 'List my orders',
    description: 'My orders, newest first, optionally by status.',
    query: myOrdersQuery,
    response: orderList,
    examples: { response: examplePage(completedOrder) },
    handler: async ({ principal, query, deps }) => {
      const { limit, cursor, status } = query;
      return { body: await listOrders(deps.db, { userId: ownUserId(principal), status }, { limit, cursor }) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/orders/:orderId',
    access: USER,
    tag: 'User',
    operationId: 'getMyOrder',
    summary: 'Get one of my orders',
    description: "One of my orders with its workflow's progress (current step, attempts, last error). Another user's order is NOT_FOUND.",
    params: orderParams,
    response: orderWithProgressSchema,
    errors: ['NOT_FOUND'],
    examples: { response: orderWithProgress },
    handler: async ({ principal, params, deps }) => ({ body: await withProgress(deps, orderView(await getOrder(deps.db, params.orderId, ownUserId(principal)))) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/me/orders/:orderId/cancel',
    access: USER,
    tag: 'User',
    operationId: 'cancelMyOrder',
    summary: 'Cancel my unpaid order',
    description: 'Cancels an order still waiting for payment; a coupon use it held is given back. A payment that still arrives follows the late-payment rule (docs/api.md).',
    params: orderParams,
    body: z.strictObject({}),
    response: orderSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'ORDER_STATE_CONFLICT', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { request: {}, response: { ...order, status: 'cancelled', paymentUrl: null } },
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
    operationId: 'listMySubscriptions',
    summary: 'List my subscriptions',
    description: 'My subscriptions, oldest first, with their current period and the history of paid periods.',
    query: pageQuery(SHORT_LIST_PAGE).strict(),
    response: subscriptionList,
    examples: { response: examplePage(subscription) },
    handler: async ({ principal, query, deps }) => ({ body: await listSubscriptions(deps.db, ownUserId(principal), query) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/internal/orders',
    access: SERVICE,
    tag: 'Internal (service)',
    operationId: 'placeOrder',
    summary: 'Order a package for a user',
    description:
      "Places an order for the user named in the body (e.g. prepaid credits bought by an AI agent's account); otherwise as POST /v1/me/orders: the answer says where to pay.",
    body: serviceOrderBody,
    response: orderSchema,
    successStatus: 201,
    idempotent: true,
    errors: ORDER_ERRORS,
    examples: { request: { userId: ids.user, packageCode: 'pro_monthly', channel: 'stripe' }, response: { ...order, amountMinor: 999, discountMinor: 0, couponCode: null, subtotalMinor: 999, taxMinor: 160, totalMinor: 999 } },
    handler: async ({ body, deps, idempotency, principal }) => place(deps, body, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/internal/orders/:orderId',
    access: SERVICE,
    tag: 'Internal (service)',
    operationId: 'getOrder',
    summary: 'Get an order',
    description: "An order of any user with its workflow's progress.",
    params: orderParams,
    response: orderWithProgressSchema,
    errors: ['NOT_FOUND'],
    examples: { response: orderWithProgress },
    handler: async ({ params, deps }) => ({ body: await withProgress(deps, orderView(await getOrder(deps.db, params.orderId))) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/orders',
    access: ADMIN,
    tag: 'Admin',
    operationId: 'listOrders',
    summary: 'List orders',
    description: 'Orders of all users, newest first, filtered by status, user, channel and creation time [from, to).',
    query: adminOrdersQuery,
    response: orderList,
    examples: { response: examplePage(completedOrder) },
    handler: async ({ query, deps }) => {
      const { limit, cursor, ...filter } = query;
      return { body: await listOrders(deps.db, filter, { limit, cursor }) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/orders/:orderId',
    access: ADMIN,
    tag: 'Admin',
    operationId: 'getAdminOrder',
    summary: 'Get an order (admin)',
    description: "An order of any user with its workflow's progress.",
    params: orderParams,
    response: orderWithProgressSchema,
    errors: ['NOT_FOUND'],
    examples: { response: orderWithProgress },
    handler: async ({ params, deps }) => ({ body: await withProgress(deps, orderView(await getOrder(deps.db, params.orderId))) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/orders/:orderId/mark-paid',
    access: ADMIN,
    tag: 'Admin',
    operationId: 'markOrderPaid',
    summary: 'Confirm a payment received by hand',
    description:
      'Confirms a payment received outside the system (bank transfer, cash); the order workflow records it and provisions the order. Answers 202 with the order as it stands; repeating it is harmless. An order paid through a provider is ORDER_STATE_CONFLICT.',
    params: orderParams,
    body: markPaidBody,
    response: orderSchema,
    successStatus: 202,
    idempotent: true,
    errors: ['NOT_FOUND', 'ORDER_STATE_CONFLICT', 'SERVICE_UNAVAILABLE', 'IDEMPOTENCY_KEY_REUSED'],
    examples: {
      request: { reason: 'Bank transfer ref 2026-118' },
      response: { ...order, channel: 'manual', paymentUrl: null, status: 'paid', paidAt: '2026-01-21T10:00:00.000Z' },
    },
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
    operationId: 'refundOrder',
    summary: 'Refund an order',
    description:
      'Refunds a completed order in full or in part: the channel gives the money back, then the refunded share of credits and subscription time is revoked (credits already spent are the shortfall, never clawed back below zero). Answers 202 with the pending refund; GET …/refunds follows it.',
    params: orderParams,
    body: refundBody,
    response: orderRefundSchema,
    successStatus: 202,
    idempotent: true,
    errors: ['NOT_FOUND', 'ORDER_STATE_CONFLICT', 'REFUND_EXCEEDS_PAYMENT', 'SERVICE_UNAVAILABLE', 'IDEMPOTENCY_KEY_REUSED'],
    examples: {
      request: { reason: 'Customer asked within the refund window.' },
      response: { ...orderRefund, status: 'pending', gatewayRefundId: null, creditsRevoked: 0, creditsShortfall: 0, secondsRevoked: 0, completedAt: null },
    },
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
    operationId: 'listOrderRefunds',
    summary: "List an order's refunds",
    description: "An order's refunds, oldest first, with what each revoked and its shortfall.",
    params: orderParams,
    query: pageQuery(SHORT_LIST_PAGE).strict(),
    response: refundList,
    errors: ['NOT_FOUND'],
    examples: { response: examplePage(orderRefund) },
    handler: async ({ params, query, deps }) => {
      await getOrder(deps.db, params.orderId);
      return { body: await listOrderRefunds(deps.db, params.orderId, query) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/users/:userId/subscriptions',
    access: ADMIN,
    tag: 'Admin',
    operationId: 'listUserSubscriptions',
    summary: "List a user's subscriptions",
    description: "A user's subscriptions, oldest first, with their period history.",
    params: z.strictObject({ userId: userIdSchema }),
    query: pageQuery(SHORT_LIST_PAGE).strict(),
    response: subscriptionList,
    examples: { response: examplePage(subscription) },
    handler: async ({ params, query, deps }) => ({ body: await listSubscriptions(deps.db, params.userId, query) }),
  }),
];
