import type { Database } from '../platform/database';
import type { OrderStatus } from '../modules/orders/rules/order-status';
import { type PaymentsDeps, closePaymentSession, openPaymentSession, refundPayment } from '../modules/payments';
import { findOrder, getOrder, recordPayment, transitionOrder, closeRefusedPayment, failRefund, settleRefund } from '../modules/orders';
import { grantOrderCredits, provisionSubscription, revokeOrderShare } from '../modules/subscriptions';
import type { PaymentSessionView, PaymentSignal } from '../workflows/order-contract';
import { asOutcome as outcome } from './outcome';

/** What `refundOrderPayment` answers for a payment of nothing (a fully discounted order). */
const NOTHING_TO_REFUND = 'nothing-to-refund';

export interface OrderActivityDeps {
  db: Database;
  payments: PaymentsDeps;
}

export interface LoadedOrder {
  status: OrderStatus;
  expiresAt: string;
  paymentUrl: string | null;
  paymentReference: string | null;
}

export function createOrderActivities({ db, payments }: OrderActivityDeps) {
  const orderAndChannel = async (orderId: string) => {
    const order = await getOrder(db, orderId);
    return { order, channel: await db.paymentChannel.findUniqueOrThrow({ where: { id: order.channelId } }) };
  };

  return {
    loadOrder: (orderId: string) =>
      outcome(async (): Promise<LoadedOrder | null> => {
        const order = await findOrder(db, orderId);
        if (!order) return null;
        return { status: order.status, expiresAt: order.expiresAt.toISOString(), paymentUrl: order.paymentUrl, paymentReference: order.paymentReference };
      }),

    /** Idempotent: a session already stored is returned; Stripe dedupes the create by the order's key. */
    openPaymentSession: (orderId: string) =>
      outcome(async (): Promise<PaymentSessionView> => {
        const { order, channel } = await orderAndChannel(orderId);
        const stored = { paymentUrl: order.paymentUrl, paymentReference: order.paymentReference };
        if (order.paymentUrl || order.paymentReference) return stored;
        const session = await openPaymentSession(payments, order, channel);
        if (!session) return stored; // the channel's kind opens no session (manual)
        await db.order.update({ where: { id: orderId }, data: { paymentUrl: session.url, paymentReference: session.reference } });
        return { paymentUrl: session.url, paymentReference: session.reference };
      }),

    /** The expiry timer fired: expire the order unless it moved on meanwhile. Answers the order's status. */
    expireOrder: (orderId: string) =>
      outcome(async (): Promise<OrderStatus> => {
        const expired = await transitionOrder(db, orderId, 'expired', { closedAt: new Date() });
        const { order, channel } = await orderAndChannel(orderId);
        if (expired) await closePaymentSession(payments, order, channel);
        return order.status;
      }),

    closePaymentSession: (orderId: string) =>
      outcome(async () => {
        const { order, channel } = await orderAndChannel(orderId);
        await closePaymentSession(payments, order, channel);
        return order.status;
      }),

    recordPayment: (orderId: string, payment: PaymentSignal) =>
      outcome(() =>
        recordPayment(db, orderId, {
          source: payment.source,
          externalId: payment.externalId,
          amountMinor: payment.amountMinor,
          currency: payment.currency,
          actor: payment.actor,
          note: payment.note,
        }),
      ),

    provisionSubscription: (orderId: string) => outcome(() => provisionSubscription(db, orderId)),

    grantOrderCredits: (orderId: string) => outcome(() => grantOrderCredits(db, orderId)),

    completeOrder: (orderId: string) =>
      outcome(async (): Promise<OrderStatus> => {
        // Read back only when it did not move (completed before this attempt, or moved elsewhere).
        if (await transitionOrder(db, orderId, 'completed', { completedAt: new Date() })) return 'completed';
        return (await getOrder(db, orderId)).status;
      }),

    /** Saga compensation: take back whatever provisioning gave (credits left, the period's time). */
    revokeProvisioning: (orderId: string) =>
      outcome(() =>
        db.$transaction((tx) => revokeOrderShare(tx, orderId, { credits: 'all', seconds: 'all', full: true, referenceId: orderId, actor: 'system:order-saga' })),
      ),

    /** Gives a payment back through the order's channel; `refundKey` makes it idempotent at the provider. */
    refundOrderPayment: (orderId: string, payment: { externalId: string; amountMinor: number; currency: string } | null, refundKey: string) =>
      outcome(async () => {
        const { order, channel } = await orderAndChannel(orderId);
        const paid = payment ?? (await db.orderPayment.findUniqueOrThrow({ where: { orderId } }));
        if (paid.amountMinor === 0) return NOTHING_TO_REFUND;
        return refundPayment(payments, channel, { orderId: order.id, externalId: paid.externalId, currency: paid.currency }, paid.amountMinor, refundKey);
      }),

    /**
     * The saga gave the payment back; `refund` is what `refundOrderPayment` answered (the provider's
     * refund id). Records the refund and closes the order `refunded` with the reason; answers its status.
     */
    closeRefusedPayment: (orderId: string, refund: string, reason: string) =>
      outcome(() =>
        closeRefusedPayment(db, orderId, { gatewayRefundId: refund === NOTHING_TO_REFUND ? null : refund, reason, actor: 'system:order-saga' }),
      ),

    failOrder: (orderId: string, reason: string) =>
      outcome(async () => {
        await transitionOrder(db, orderId, 'failed', { failureReason: reason.slice(0, 1000), closedAt: new Date() });
        return (await getOrder(db, orderId)).status;
      }),

    refundForAdminRefund: (refundId: string) =>
      outcome(async () => {
        const refund = await db.orderRefund.findUniqueOrThrow({ where: { id: refundId } });
        if (refund.gatewayRefundId) return refund.gatewayRefundId;
        const { order, channel } = await orderAndChannel(refund.orderId);
        const payment = await db.orderPayment.findUniqueOrThrow({ where: { orderId: order.id } });
        const gatewayRefundId = await refundPayment(payments, channel, payment, refund.amountMinor, refundId);
        await db.orderRefund.update({ where: { id: refundId }, data: { gatewayRefundId } });
        return gatewayRefundId;
      }),

    settleRefund: (refundId: string, gatewayRefundId: string) => outcome(() => settleRefund(db, refundId, gatewayRefundId, revokeOrderShare)),

    failRefund: (refundId: string, reason: string) => outcome(() => failRefund(db, refundId, reason)),
  };
}

export type OrderActivities = ReturnType<typeof createOrderActivities>;
