/**
 * Orders in PostgreSQL: placing one (with its checks), reading them, and every status change, each
 * guarded by the state machine in modules/orders/rules/order-status.ts so a change that is no longer allowed
 * (e.g. expiring an order that was paid a moment ago) changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { BillingError } from '../../platform/errors';
import { decidePayment, statusesLeadingTo, type OrderStatus, type PaymentDecision } from './rules/order-status';
import { refundableMinor } from './rules/refund-proportion';
import { formatMinor } from '../../platform/currencies';
import type { Database, Tx } from '../../platform/database';
import { NEWEST_FIRST, OLDEST_FIRST, type Page, type PageRequest } from '../../platform/pagination';
import type { Order, Prisma } from '../../generated/prisma/client';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';
import { recordEvent } from '../../platform/outbox/record';
import { lockUserCredits } from '../credits';
import { orderRefundView, orderView, type OrderRefundView, type OrderView } from './views';
import { resolvePrice } from '../pricing';
import { packageOnSale } from '../catalog';
import { judgeCoupon, previewView, recordCouponReservation, releaseCouponUse, reserveCouponUse, type CouponPreviewView } from '../coupons';
import { recordSale } from '../sellers';
import { issueInvoice, quoteOrderTax } from '../invoices';
import { userHoldsPermanentPackage } from './ownership';

/** Amounts are 32-bit integers in the database: a price near the top plus tax on it would not fit. */
const MAX_CHARGE_MINOR = 2_147_483_647;

export interface PlaceOrderRequest {
  userId: string;
  packageCode: string;
  channel: string;
  /** ISO 4217; default the package's own currency. Must be one the package is priced in and the channel takes. */
  currency?: string | undefined;
  couponCode?: string | undefined;
  /**
   * false: always a new order, never the user's unpaid one for the same package. A purchase paid
   * off-session (a top-up refill) charges its own order: two refills sharing one order would charge
   * twice for one grant.
   */
  reuseUnpaid?: boolean | undefined;
}

/**
 * Places an order (or returns the user's unpaid one for the same package, unless `reuseUnpaid: false`). Checks: the package
 * exists, is visible and on sale; the channel is enabled and takes the package's currency; a user who
 * holds an active permanent package cannot buy it again. Package terms and price are snapshotted, and
 * so is the tax (the buyer's billing country now): in `TAX_PRICES=exclusive` mode the amount charged is
 * the price after the coupon plus that tax.
 */
export async function placeOrder(
  db: Database,
  request: PlaceOrderRequest,
  expirySeconds: number,
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<OrderView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const billingPackage = await packageOnSale(tx, request.packageCode);
    const channel = await tx.paymentChannel.findUnique({ where: { code: request.channel } });
    if (!channel || !channel.enabled) {
      throw new BillingError('CHANNEL_UNAVAILABLE', `Payment channel "${request.channel}" is not available.`, { channel: request.channel });
    }
    const price = await resolvePrice(tx, billingPackage, request.currency);
    if (!(channel.currencies as string[]).includes(price.currency)) {
      throw new BillingError('CHANNEL_UNAVAILABLE', `Payment channel "${request.channel}" does not take ${price.currency}.`, {
        channel: request.channel,
        currency: price.currency,
      });
    }
    // One order decision per user at a time, so two concurrent orders cannot both pass the guards.
    await lockUserCredits(tx, request.userId);
    if (billingPackage.type === 'permanent' && (await userHoldsPermanentPackage(tx, request.userId, billingPackage.id))) {
      throw new BillingError('ALREADY_OWNED', `User already holds the permanent package "${billingPackage.code}".`, { packageCode: billingPackage.code });
    }
    const unpaid = request.reuseUnpaid === false ? null : await tx.order.findFirst({
      where: {
        userId: request.userId,
        packageId: billingPackage.id,
        status: 'pending_payment',
        expiresAt: { gt: new Date() },
        currency: price.currency,
        couponCode: request.couponCode ?? null,
      },
      orderBy: { createdAt: 'asc' },
    });
    if (unpaid) return orderView(unpaid);
    const coupon = request.couponCode
      ? await reserveCouponUse(tx, { code: request.couponCode, userId: request.userId, pkg: billingPackage, currency: price.currency, listAmountMinor: price.amountMinor })
      : null;
    // The coupon works on the pre-tax price (its floor included); tax is then fixed on what is left.
    const subtotalMinor = coupon ? coupon.discount.amountMinor : price.amountMinor;
    const tax = await quoteOrderTax(tx, request.userId, subtotalMinor);
    if (tax.totalMinor > MAX_CHARGE_MINOR) {
      throw new BillingError('PACKAGE_UNAVAILABLE', `Package "${billingPackage.code}" with tax comes to more than an order can charge.`, {
        packageCode: billingPackage.code,
        totalMinor: tax.totalMinor,
      });
    }
    const order = await tx.order.create({
      data: {
        id: randomUUID(),
        userId: request.userId,
        packageId: billingPackage.id,
        packageCode: billingPackage.code,
        packageName: billingPackage.name,
        packageType: billingPackage.type,
        creditsAmount: billingPackage.creditsAmount,
        durationDays: billingPackage.durationDays,
        priority: billingPackage.defaultPriority,
        amountMinor: tax.totalMinor,
        currency: price.currency,
        listAmountMinor: price.amountMinor,
        discountMinor: coupon ? coupon.discount.discountMinor : 0,
        couponCode: request.couponCode ?? null,
        taxMode: tax.mode,
        taxCountry: tax.country,
        taxRateBasisPoints: tax.rateBasisPoints,
        subtotalMinor: tax.subtotalMinor,
        taxMinor: tax.taxMinor,
        channelId: channel.id,
        channelCode: channel.code,
        expiresAt: new Date(Date.now() + expirySeconds * 1000),
        createdBy: actor,
      },
    });
    if (coupon) await recordCouponReservation(tx, order.id, request.userId, coupon.couponId, coupon.discount.discountMinor, price.currency);
    return orderView(order);
  });
}

export async function findOrder(db: Database | Tx, orderId: string): Promise<Order | null> {
  return db.order.findUnique({ where: { id: orderId } });
}

/** The order, or NOT_FOUND; with `userId`, another user's order is NOT_FOUND too (its existence is not revealed). */
export async function getOrder(db: Database | Tx, orderId: string, userId?: string): Promise<Order> {
  const order = await db.order.findUnique({ where: { id: orderId } });
  if (!order || (userId !== undefined && order.userId !== userId)) throw new BillingError('NOT_FOUND', `Order ${orderId} not found.`, { orderId });
  return order;
}

export interface OrderFilter {
  userId?: string | undefined;
  status?: OrderStatus | undefined;
  channel?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/** Newest first. */
export async function listOrders(db: Database, filter: OrderFilter, page: PageRequest): Promise<Page<OrderView>> {
  const where: Prisma.OrderWhereInput = {
    ...(filter.userId ? { userId: filter.userId } : {}),
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.channel ? { channelCode: filter.channel } : {}),
    ...(filter.from || filter.to
      ? { createdAt: { ...(filter.from ? { gte: new Date(filter.from) } : {}), ...(filter.to ? { lt: new Date(filter.to) } : {}) } }
      : {}),
  };
  const orders = await db.order.findMany({ where: { AND: [where, NEWEST_FIRST.after(page.cursor)] }, orderBy: NEWEST_FIRST.orderBy, take: NEWEST_FIRST.take(page) });
  return NEWEST_FIRST.page(orders, page, orderView);
}

/** Closing without keeping a payment gives the order's coupon use back (modules/coupons/redemptions.ts). */
const GIVES_COUPON_BACK = new Set<OrderStatus>(['cancelled', 'expired', 'failed']);

/**
 * Moves an order to `to` if the state machine allows it from its current status; answers whether it
 * moved. The WHERE clause is the guard, so concurrent writers cannot both win.
 */
export async function transitionOrder(
  db: Database | Tx,
  orderId: string,
  to: OrderStatus,
  data: Omit<Prisma.OrderUpdateManyMutationInput, 'status'> = {},
): Promise<boolean> {
  const move = async (tx: Database | Tx): Promise<boolean> => {
    const { count } = await tx.order.updateMany({ where: { id: orderId, status: { in: statusesLeadingTo(to) } }, data: { ...data, status: to } });
    if (count === 1 && GIVES_COUPON_BACK.has(to)) await releaseCouponUse(tx as Tx, orderId);
    return count === 1;
  };
  return GIVES_COUPON_BACK.has(to) && '$transaction' in db ? db.$transaction((tx) => move(tx)) : move(db);
}

/** The user (or an admin) cancels an unpaid order. */
export async function cancelOrder(db: Database, orderId: string, userId: string | undefined, idempotency: Idempotency): Promise<IdempotentResult<OrderView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const order = await getOrder(tx, orderId, userId);
    if (order.status !== 'pending_payment' || !(await transitionOrder(tx, orderId, 'cancelled', { closedAt: new Date() }))) {
      throw new BillingError('ORDER_STATE_CONFLICT', `Order is ${order.status}; only an unpaid order can be cancelled.`, { status: order.status });
    }
    return orderView(await getOrder(tx, orderId));
  });
}

export interface ConfirmedPayment {
  source: 'stripe' | 'gateway' | 'manual';
  externalId: string;
  amountMinor: number;
  currency: string;
  actor: string;
  note?: string | null | undefined;
}

/**
 * Confirms a payment received outside the system (bank transfer, cash), once per key: `deliver` hands it
 * to the order's workflow while this request holds the key's claim, so concurrent retries wait for the
 * first and answer what it answered (the order as it stood once its payment was delivered). A payment
 * taken through a provider is not overwritten by a manual one. `deliveryTimeoutMs`: how long `deliver`
 * may take (the transaction holding the claim lasts that long, and a little more).
 */
export async function confirmManualPayment(
  db: Database,
  orderId: string,
  idempotency: Idempotency,
  deliveryTimeoutMs: number,
  deliver: (order: Order) => Promise<void>,
): Promise<IdempotentResult<OrderView>> {
  return runIdempotent(
    db,
    idempotency,
    async (tx) => {
      const order = await getOrder(tx, orderId);
      const payment = await tx.orderPayment.findUnique({ where: { orderId } });
      if (payment && payment.source !== 'manual') {
        throw new BillingError('ORDER_STATE_CONFLICT', `Order was already paid through ${payment.source}.`, { status: order.status });
      }
      await deliver(order);
      return orderView(await getOrder(tx, orderId));
    },
    { timeoutMs: deliveryTimeoutMs + DELIVERY_MARGIN_MS },
  );
}

/** The claim's transaction outlives the delivery's own deadline by this much, so the delivery's 503 is the answer. */
const DELIVERY_MARGIN_MS = 5_000;

/**
 * Records the order's payment once and moves it to `paid` (also from expired, cancelled or failed:
 * the late-payment rule). A second event for the same payment changes nothing; a different payment
 * for an already-paid order is reported so it can be refunded.
 */
export async function recordPayment(db: Database, orderId: string, payment: ConfirmedPayment): Promise<{ decision: PaymentDecision; status: OrderStatus }> {
  return db.$transaction(async (tx) => {
    // The order row stays locked to the end: nothing else changes its status meanwhile, so the status
    // answered is the one read here or the one this transaction wrote.
    const [order] = await tx.$queryRaw<Array<{ user_id: string; package_code: string; status: OrderStatus }>>`
      SELECT user_id, package_code, status::text AS status FROM orders WHERE id = ${orderId}::uuid FOR UPDATE`;
    if (!order) throw new BillingError('NOT_FOUND', `Order ${orderId} not found.`, { orderId });
    const recorded = await tx.orderPayment.findUnique({ where: { orderId } });
    const decision = decidePayment(recorded?.externalId ?? null, payment.externalId);
    if (decision !== 'provision') return { decision, status: order.status };
    await tx.orderPayment.create({
      data: {
        orderId,
        source: payment.source,
        externalId: payment.externalId,
        amountMinor: payment.amountMinor,
        currency: payment.currency,
        actor: payment.actor,
        note: payment.note ?? null,
      },
    });
    const paidAt = new Date();
    const moved = await transitionOrder(tx, orderId, 'paid', { paidAt, failureReason: null });
    await recordEvent(tx, {
      type: 'order.paid',
      userId: order.user_id,
      payload: { orderId, packageCode: order.package_code, amountMinor: payment.amountMinor, currency: payment.currency, paidAt: paidAt.toISOString() },
    });
    await recordSale(tx, orderId, payment);
    // The invoice commits with the payment or not at all; its number is taken in this transaction.
    await issueInvoice(tx, orderId, payment);
    return { decision, status: moved ? 'paid' : order.status };
  });
}

/** Refunds not failed: what they total is no longer refundable. */
async function committedRefundsMinor(tx: Tx, orderId: string): Promise<number> {
  const result = await tx.orderRefund.aggregate({ where: { orderId, status: { not: 'failed' } }, _sum: { amountMinor: true } });
  return result._sum.amountMinor ?? 0;
}

/** Opens an admin refund (pending until the refund workflow has given the money back and revoked the share). */
export async function openRefund(
  db: Database,
  orderId: string,
  request: { amountMinor?: number | undefined; reason: string },
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<OrderRefundView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    await tx.$executeRaw`SELECT 1 FROM orders WHERE id = ${orderId}::uuid FOR UPDATE`;
    const order = await getOrder(tx, orderId);
    if (order.status !== 'completed' && order.status !== 'partially_refunded') {
      throw new BillingError('ORDER_STATE_CONFLICT', `Order is ${order.status}; only a completed order can be refunded.`, { status: order.status });
    }
    const refundable = refundableMinor(order.amountMinor, await committedRefundsMinor(tx, orderId));
    const amountMinor = request.amountMinor ?? refundable;
    if (amountMinor <= 0 || amountMinor > refundable) {
      throw new BillingError('REFUND_EXCEEDS_PAYMENT', `At most ${formatMinor(refundable, order.currency)} can still be refunded.`, { refundable, requested: amountMinor });
    }
    const refund = await tx.orderRefund.create({ data: { id: randomUUID(), orderId, amountMinor, reason: request.reason, actor } });
    return orderRefundView(refund);
  });
}

/** Oldest first. */
export async function listOrderRefunds(db: Database, orderId: string, page: PageRequest): Promise<Page<OrderRefundView>> {
  const refunds = await db.orderRefund.findMany({ where: { AND: [{ orderId }, OLDEST_FIRST.after(page.cursor)] }, orderBy: OLDEST_FIRST.orderBy, take: OLDEST_FIRST.take(page) });
  return OLDEST_FIRST.page(refunds, page, orderRefundView);
}

/** The payment recorded for an order, or null while it has none. */
export async function recordedPayment(db: Database, orderId: string) {
  return db.orderPayment.findUnique({ where: { orderId } });
}

/** What a coupon code would take off a package bought in a currency, and the tax and total, as an order placed now would price it. Changes nothing. */
export async function previewCoupon(
  db: Database,
  request: { code: string; userId: string; packageCode: string; currency?: string | undefined },
): Promise<CouponPreviewView> {
  const pkg = await packageOnSale(db, request.packageCode);
  const price = await resolvePrice(db, pkg, request.currency);
  const judgement = await judgeCoupon(db, { code: request.code, userId: request.userId, pkg, currency: price.currency, listAmountMinor: price.amountMinor });
  const preview = previewView(request.code, pkg.code, price.currency, judgement);
  const tax = await quoteOrderTax(db, request.userId, preview.amountMinor);
  return { ...preview, taxMinor: tax.taxMinor, totalMinor: tax.totalMinor };
}
