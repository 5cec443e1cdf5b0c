/**
 * Settling an admin refund after the gateway gave the money back: revoke the refunded share of the
 * order's credits and subscription time (modules/orders/rules/refund-proportion.ts), record it on the refund, and
 * move the order to refunded / partially_refunded. Idempotent by the refund's status.
 *
 * And closing an order whose payment could not be provisioned (refused, or provisioning failed for
 * good) once the saga has given the payment back: the same refund row, status and event as an admin
 * refund, so the user and the operator see it the same way.
 */
import { randomUUID } from 'node:crypto';
import { planRevocation } from './rules/refund-proportion';
import { statusAfterRefund, type OrderStatus } from './rules/order-status';
import type { Database, Tx } from '../../platform/database';
import { recordEvent } from '../../platform/outbox/record';
import { getOrder, transitionOrder } from './store';
import { orderRefundView, type OrderRefundView } from './views';
import { releaseCouponUse } from '../coupons';
import { reverseSaleForRefund } from '../sellers';
import { issueCreditNote } from '../invoices';

/**
 * Takes back the refunded share of the order's credits and subscription time in the caller's transaction.
 * Subscriptions own that (their periods, the grant they asked credits for); the order activities pass
 * subscriptions' revokeOrderShare in, so orders do not depend on subscriptions.
 */
export type RevokeOrderShare = (
  tx: Tx,
  orderId: string,
  share: { credits: number; seconds: number; full: boolean; referenceId: string; actor: string },
) => Promise<{ creditsRevoked: number; secondsRevoked: number }>;

export async function settleRefund(db: Database, refundId: string, gatewayRefundId: string, revokeShare: RevokeOrderShare): Promise<OrderRefundView> {
  return db.$transaction(async (tx) => {
    const refund = await tx.orderRefund.findUniqueOrThrow({ where: { id: refundId } });
    await tx.$executeRaw`SELECT 1 FROM orders WHERE id = ${refund.orderId}::uuid FOR UPDATE`;
    const current = await tx.orderRefund.findUniqueOrThrow({ where: { id: refundId } });
    if (current.status !== 'pending') return orderRefundView(current);
    const order = await getOrder(tx, refund.orderId);
    const period = await tx.subscriptionPeriod.findUnique({ where: { orderId: order.id } });
    const grant = period?.grantId ? await tx.userPackage.findUnique({ where: { id: period.grantId } }) : null;
    const earlier = await tx.orderRefund.aggregate({
      where: { orderId: order.id, status: 'succeeded' },
      _sum: { creditsRevoked: true, creditsShortfall: true },
    });
    const plan = planRevocation({
      orderAmountMinor: order.amountMinor,
      refundedBeforeMinor: order.refundedMinor,
      refundMinor: refund.amountMinor,
      grantedCredits: grant ? order.creditsAmount : 0,
      creditsAccountedBefore: (earlier._sum.creditsRevoked ?? 0) + (earlier._sum.creditsShortfall ?? 0),
      grantAvailable: grant ? grant.totalCredits - grant.usedCredits - grant.reservedCredits : 0,
      periodSeconds: period?.periodEnd ? Math.floor((period.periodEnd.getTime() - period.periodStart.getTime()) / 1000) : null,
      secondsRevokedBefore: period?.revokedSeconds ?? 0,
    });
    const revoked = await revokeShare(tx, order.id, {
      credits: plan.creditsToRevoke,
      seconds: plan.secondsToRevoke,
      full: plan.full,
      referenceId: refundId,
      actor: refund.actor,
    });
    const refundedMinor = order.refundedMinor + refund.amountMinor;
    const status = statusAfterRefund(order.amountMinor, refundedMinor);
    await tx.order.update({ where: { id: order.id }, data: { refundedMinor, status } });
    await reverseSaleForRefund(tx, order.id, refundId, order.refundedMinor, refund.amountMinor);
    await issueCreditNote(tx, { orderId: order.id, refundId, amountMinor: refund.amountMinor, reason: refund.reason });
    if (status === 'refunded') await releaseCouponUse(tx, order.id);
    const settled = await tx.orderRefund.update({
      where: { id: refundId },
      data: {
        status: 'succeeded',
        gatewayRefundId,
        creditsRevoked: revoked.creditsRevoked,
        creditsShortfall: plan.creditsToRevoke - revoked.creditsRevoked + plan.creditsShortfall,
        secondsRevoked: revoked.secondsRevoked,
        completedAt: new Date(),
      },
    });
    await recordEvent(tx, {
      type: 'order.refunded',
      userId: order.userId,
      payload: {
        orderId: order.id,
        amountMinor: refund.amountMinor,
        currency: order.currency,
        reason: refund.reason,
        revokedGrantIds: plan.full && period?.grantId ? [period.grantId] : [],
      },
    });
    return orderRefundView(settled);
  });
}

export async function failRefund(db: Database, refundId: string, reason: string): Promise<OrderRefundView> {
  await db.orderRefund.updateMany({ where: { id: refundId, status: 'pending' }, data: { status: 'failed', failureReason: reason, completedAt: new Date() } });
  return orderRefundView(await db.orderRefund.findUniqueOrThrow({ where: { id: refundId } }));
}

export interface RefusedPaymentRefund {
  /** The provider's refund id (`refundOrderPayment`), or null when the payment was of nothing. */
  gatewayRefundId: string | null;
  /** Why the payment could not be provisioned (the refusal's code and message). */
  reason: string;
  actor: string;
}

/**
 * The saga gave back a payment it could not provision: record the refund (succeeded, for the whole
 * payment), close the order `refunded` with the reason, reverse the seller's sale, give the coupon's
 * use back, and emit `order.refunded`, all in one transaction. Idempotent: the guarded status change
 * happens once; a repeat answers the order's status.
 */
export async function closeRefusedPayment(db: Database, orderId: string, refund: RefusedPaymentRefund): Promise<OrderStatus> {
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT 1 FROM orders WHERE id = ${orderId}::uuid FOR UPDATE`;
    const order = await getOrder(tx, orderId);
    const payment = await tx.orderPayment.findUniqueOrThrow({ where: { orderId } });
    const now = new Date();
    const closed = await transitionOrder(tx, orderId, 'refunded', {
      refundedMinor: payment.amountMinor,
      failureReason: refund.reason.slice(0, 1000),
      closedAt: now,
    });
    if (!closed) return order.status;
    const refundId = randomUUID();
    if (payment.amountMinor > 0) {
      await tx.orderRefund.create({
        data: {
          id: refundId,
          orderId,
          amountMinor: payment.amountMinor,
          reason: refund.reason.slice(0, 1000),
          status: 'succeeded',
          gatewayRefundId: refund.gatewayRefundId,
          actor: refund.actor,
          completedAt: now,
        },
      });
      await reverseSaleForRefund(tx, orderId, refundId, order.refundedMinor, payment.amountMinor);
      await issueCreditNote(tx, { orderId, refundId, amountMinor: payment.amountMinor, reason: refund.reason });
    }
    await releaseCouponUse(tx, orderId);
    // The saga revoked whatever had been granted before it gave up.
    const period = await tx.subscriptionPeriod.findUnique({ where: { orderId } });
    await recordEvent(tx, {
      type: 'order.refunded',
      userId: order.userId,
      payload: { orderId, amountMinor: payment.amountMinor, currency: payment.currency, reason: refund.reason, revokedGrantIds: period?.grantId ? [period.grantId] : [] },
    });
    return 'refunded';
  });
}
