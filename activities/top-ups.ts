/**
 * The refill workflow's activities (workflows/top-up-refill-contract.ts), thin over modules/topups and
 * modules/orders. A business refusal (BillingError) cannot be cured by retrying, so it fails the
 * activity for good (non-retryable, its stable code as the failure type); anything else is retried.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Database } from '../platform/database';
import { BillingError } from '../platform/errors';
import { OrderWorkflowClient, getOrder, placeOrder } from '../modules/orders';
import { getChannel, type PaymentsDeps } from '../modules/payments';
import { chargeRefillOrder, claimRefill, startIntervalRefill, completeRefill, failRefill, getRefillById, noteActionRequired, noteRefillOrder, refillOrderRequest, type OffSessionAnswer } from '../modules/topups';
import type { ChargeResult, TopUpRefillActivities } from '../workflows/top-up-refill-contract';
import type { TopUpIntervalActivities } from '../workflows/top-up-interval-contract';

/** Who the refill's writes are audited as. */
const REFILL_ACTOR = 'system:top-up';
/** The refill's order stays payable through the whole dunning schedule (1 h + 1 d + 3 d) with a day to spare. */
const REFILL_ORDER_EXPIRY_SECONDS = 5 * 24 * 60 * 60;
const ORDER_CALL_TIMEOUT_MS = 10_000;

export interface TopUpActivityDeps {
  db: Database;
  payments: PaymentsDeps;
}

async function refusalsFinal<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    // SERVICE_UNAVAILABLE (Temporal did not answer in time) is the one refusal worth retrying.
    if (error instanceof BillingError && error.code !== 'SERVICE_UNAVAILABLE') throw ApplicationFailure.nonRetryable(error.message, error.code, error.details ?? null);
    throw error;
  }
}

export function createTopUpActivities({ db, payments }: TopUpActivityDeps): TopUpRefillActivities & TopUpIntervalActivities {
  async function chargeOrder(refillId: string, orderId: string, idempotencyKey: string): Promise<OffSessionAnswer> {
    const order = await getOrder(db, orderId);
    // Charged only while it waits for its payment: an order paid some other way meanwhile (a checkout
    // that picked up this unpaid order) is never charged again off-session. A retry after our own
    // approval finds it still waiting (provisioning moves it on) and gets the same answer by its key.
    if (order.status !== 'pending_payment') {
      throw new BillingError('ORDER_STATE_CONFLICT', 'The refill order is no longer waiting for its payment.', { orderId, status: order.status });
    }
    const answer = await chargeRefillOrder(db, payments, order, idempotencyKey, (await getRefillById(db, refillId))?.paymentMethodId);
    if (answer.status === 'approved') await db.order.update({ where: { id: orderId }, data: { paymentReference: answer.tradeNo } });
    return answer;
  }

  return {
    claimTopUpSlot: ({ refillId, ruleId, at }) =>
      refusalsFinal(async () => {
        const refill = await claimRefill(db, refillId, ruleId, new Date(at));
        return refill ? refill.status : 'paused';
      }),

    /** Idempotent by refill id: a retried activity replays the stored order. */
    placeTopUpOrder: ({ refillId }) =>
      refusalsFinal(async () => {
        const request = await refillOrderRequest(db, refillId);
        const idempotency = { scope: REFILL_ACTOR, key: `${refillId}:order`, requestHash: refillId };
        // Its own order, never the user's unpaid one: each refill charges and grants exactly its own purchase.
        const placed = await placeOrder(db, { ...request, reuseUnpaid: false }, REFILL_ORDER_EXPIRY_SECONDS, idempotency, REFILL_ACTOR);
        await noteRefillOrder(db, refillId, placed.body.id);
        return { orderId: placed.body.id };
      }),

    /**
     * An approved charge's trade number is kept as the order's payment reference, so provisioning
     * (a separate step, maybe on another worker) delivers the payment the gateway reported.
     */
    chargeTopUpOffSession: ({ refillId, orderId, idempotencyKey }) => refusalsFinal(async (): Promise<ChargeResult> => (await chargeOrder(refillId, orderId, idempotencyKey)).status),

    chargeTopUp: ({ refillId, orderId, idempotencyKey }) =>
      refusalsFinal(async () => {
        const answer = await chargeOrder(refillId, orderId, idempotencyKey);
        return answer.status === 'requires_action' ? { result: answer.status, actionUrl: answer.actionUrl } : { result: answer.status };
      }),

    noteTopUpActionRequired: ({ refillId, actionUrl }) =>
      refusalsFinal(async () => {
        await noteActionRequired(db, refillId, actionUrl);
      }),

    /**
     * Delivers the approved payment to the order's workflow (signal-with-start); the order workflow
     * records it once (by the trade number) and grants the credits once.
     */
    provisionTopUp: ({ refillId, orderId }) =>
      refusalsFinal(async () => {
        const order = await getOrder(db, orderId);
        if (!order.paymentReference) throw new BillingError('ORDER_STATE_CONFLICT', 'The refill order has no approved charge to provision.', { orderId });
        // The payment is recorded as its provider's (a Stripe PaymentIntent, a gateway trade), so a refund goes back the same way.
        const { kind } = await getChannel(db, order.channelCode);
        const { client, info } = Context.current();
        const orders = new OrderWorkflowClient({ temporal: client, taskQueue: info.taskQueue, callTimeoutMs: ORDER_CALL_TIMEOUT_MS });
        await orders.deliverPayment(orderId, order.userId, {
          outcome: 'succeeded',
          source: kind,
          externalId: order.paymentReference,
          amountMinor: order.amountMinor,
          currency: order.currency,
          actor: REFILL_ACTOR,
          note: `top-up refill ${refillId}`,
          eventId: `${refillId}:payment`,
        });
        await completeRefill(db, refillId);
      }),

    /** A rule's Schedule run (workflows/top-up-interval.ts): the month's refill, started on this worker's task queue. */
    startIntervalRefill: ({ ruleId, at }) =>
      refusalsFinal(async () => {
        const { client, info } = Context.current();
        return startIntervalRefill({ db, temporal: client, taskQueue: info.taskQueue }, ruleId, new Date(at));
      }),

    failTopUp: ({ refillId, orderId, reason }) =>
      refusalsFinal(async () => {
        await failRefill(db, { refillId, orderId, reason });
      }),
  };
}
