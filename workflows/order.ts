import { ApplicationFailure, condition, patched, proxyActivities, proxyLocalActivities, setHandler, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import type { Outcome } from '../activities/outcome';
import type { OrderActivities } from '../activities/orders';
import type { LifecycleActivities } from '../activities/lifecycle';
import type { OrderStatus } from '../modules/orders/rules/order-status';
import type { OrderProgress } from '../modules/orders/shapes';
import { OrderStatusKey } from './search-attributes';
import {
  cancelSignal,
  paymentSessionUpdate,
  paymentSignal,
  progressQuery,
  type OrderRefundWorkflowInput,
  type OrderWorkflowInput,
  type PaymentSessionView,
  type PaymentSignal,
} from './order-contract';

/**
 * Each step is retried by the workflow itself (one attempt per activity call), so the progress query
 * can show the current step, its attempts and the last error while it retries.
 */
const remoteOrders = proxyActivities<OrderActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 1 },
});

const remoteLifecycleHook = proxyActivities<LifecycleActivities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 1 } });

/**
 * Runs started since this patch run the order's steps as local activities: executed by the worker
 * that runs the workflow task, recorded as markers, so a paid order is provisioned in one workflow task
 * instead of one task and one activity task per step (a quarter of the server work, and no queueing
 * between steps). The guarantees are the activities' own and do not change: every step is idempotent
 * and is re-run after a crash until its result is recorded, as a remote activity would be. Runs
 * recorded before the patch replay with remote activities (tests/workflows/order-histories.test.ts).
 */
const LOCAL_STEPS_PATCH = 'order-local-steps';
const localOrders = proxyLocalActivities<OrderActivities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 1 } });
const localLifecycleHook = proxyLocalActivities<LifecycleActivities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 1 } });

/**
 * Runs that reach this patch close an order whose payment the saga gave back as `refunded`, with a
 * refund row and an `order.refunded` event (step `close_refunded`), instead of `failed` with the
 * reason alone. Runs recorded before it replay with `fail_order` (tests/workflows/order-histories.test.ts).
 */
const REFUSED_PAYMENT_REFUNDED_PATCH = 'order-refused-payment-refunded';

const FOREVER = Number.POSITIVE_INFINITY;

type StepResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Progress bookkeeping and the retry loop shared by the order and refund workflows. */
function progressTracker(retryBaseMs: number, beforeWait: () => void = () => undefined) {
  const progress: OrderProgress = { step: 'start', attempts: 0, lastError: null, steps: [] };
  setHandler(progressQuery, () => progress);

  async function step<T>(name: string, run: () => Promise<Outcome<T>>, maxAttempts: number): Promise<StepResult<T>> {
    const entry: OrderProgress['steps'][number] = { name, status: 'running', attempts: 0, lastError: null };
    progress.steps.push(entry);
    progress.step = name;
    for (;;) {
      entry.attempts++;
      progress.attempts = entry.attempts;
      try {
        const result = await run();
        if (result.ok) {
          entry.status = 'done';
          return result;
        }
        // A business refusal does not get better by retrying.
        entry.status = 'failed';
        entry.lastError = progress.lastError = `${result.refusal.code}: ${result.refusal.message}`;
        return { ok: false, error: entry.lastError };
      } catch (error) {
        entry.lastError = progress.lastError = describe(error);
        if (entry.attempts >= maxAttempts) {
          entry.status = 'failed';
          return { ok: false, error: entry.lastError };
        }
        beforeWait();
        await sleep(Math.min(30_000, retryBaseMs * 2 ** Math.min(entry.attempts - 1, 10)));
      }
    }
  }

  /** A step with no activity, so the progress names it (e.g. where the events issue will hook in). */
  function mark(name: string, status: 'done' | 'skipped' | 'running' = 'done'): void {
    progress.steps.push({ name, status, attempts: 0, lastError: null });
    progress.step = name;
    progress.attempts = 0;
  }

  return { progress, step, mark };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}

/**
 * One order, from payment to provisioned (or refunded). Waits for a payment (webhook signal or
 * mark-paid), a cancellation, or the expiry timer; then records the payment and provisions in
 * idempotent steps: subscription period, credit grant, events, completion. If provisioning refuses
 * the payment or fails for good, the saga revokes what was granted, refunds the payment and closes
 * the order refunded.
 * A payment that arrives after the run ended starts a new run (signal-with-start), which reads the
 * order's status first: the late-payment rule (docs/architecture.md "Orders").
 */
export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderProgress> {
  const { orderId } = input;
  const maxAttempts = input.maxStepAttempts ?? 8;
  const local = patched(LOCAL_STEPS_PATCH);
  const orders = local ? localOrders : remoteOrders;
  const lifecycleHook = local ? localLifecycleHook : remoteLifecycleHook;
  const { progress, step, mark } = progressTracker(input.retryBaseMs ?? 1000, () => publishStatus());
  const payments: PaymentSignal[] = [];
  let cancelRequested = false;
  let session: PaymentSessionView | null = null;
  let sessionFailure: string | null = null;
  let status: OrderStatus | null = null;

  setHandler(paymentSignal, (payment) => void payments.push(payment));
  setHandler(cancelSignal, () => void (cancelRequested = true));
  setHandler(paymentSessionUpdate, async () => {
    await condition(() => session !== null || sessionFailure !== null);
    if (session) return session;
    throw ApplicationFailure.create({ type: 'PAYMENT_PROVIDER_ERROR', message: sessionFailure!, nonRetryable: true });
  });

  // Remote-step runs upsert the status at every change. Local-step runs publish it only when it differs
  // from what the search attribute holds and the run is about to wait or end: several changes inside one
  // workflow task are applied together anyway, so only the last is ever visible. Every start sets
  // `pending_payment` (modules/orders/workflow-client.ts).
  let published: OrderStatus | null = 'pending_payment';
  const publishStatus = (): void => {
    if (!local || status === null || status === published) return;
    published = status;
    upsertSearchAttributes([{ key: OrderStatusKey, value: status }]);
  };
  const setStatus = (next: OrderStatus): void => {
    status = next;
    if (!local) upsertSearchAttributes([{ key: OrderStatusKey, value: next }]);
  };
  const must = <T>(result: StepResult<T>): T => {
    if (!result.ok) throw ApplicationFailure.create({ type: 'ORDER_STEP_FAILED', message: result.error, nonRetryable: true });
    return result.value;
  };

  try {
    await run();
  } finally {
    publishStatus();
  }
  return progress;

  async function run(): Promise<void> {
    const loaded = must(await step('load_order', () => orders.loadOrder(orderId), FOREVER));
    if (!loaded) {
      sessionFailure = `Order ${orderId} does not exist.`;
      return;
    }
    setStatus(loaded.status);
    session = { paymentUrl: loaded.paymentUrl, paymentReference: loaded.paymentReference };

    if (loaded.status === 'pending_payment') {
      session = null;
      const opened = await step('create_payment', () => orders.openPaymentSession(orderId), maxAttempts);
      if (opened.ok) {
        session = opened.value;
        mark('awaiting_payment', 'running');
        publishStatus();
        const expiresInMs = Math.max(0, Date.parse(loaded.expiresAt) - Date.now());
        const woke = await condition(() => payments.length > 0 || cancelRequested, expiresInMs);
        progress.steps[progress.steps.length - 1]!.status = 'done';
        if (!woke) {
          setStatus(must(await step('expire', () => orders.expireOrder(orderId), FOREVER)));
        } else if (payments.length === 0) {
          // The API already moved the order to cancelled; close the provider's session so it cannot be paid.
          await step('close_payment_session', () => orders.closePaymentSession(orderId), maxAttempts);
          setStatus('cancelled');
        }
      } else {
        sessionFailure = opened.error;
        setStatus(must(await step('fail_order', () => orders.failOrder(orderId, `payment session: ${opened.error}`), FOREVER)));
      }
    } else if (loaded.status === 'paid' || loaded.status === 'provisioning') {
      await provision();
    }

    // Every payment that reached this run, in arrival order: the first provisions, the same payment
    // again is a no-op, a different second payment is refunded.
    while (payments.length > 0) await handlePayment(payments.shift()!);
  }

  async function handlePayment(payment: PaymentSignal): Promise<void> {
    if (payment.outcome === 'failed') {
      if (status === 'pending_payment') {
        setStatus(must(await step('payment_failed', () => orders.failOrder(orderId, 'the payment failed'), FOREVER)));
      }
      return;
    }
    const recorded = must(await step('record_payment', () => orders.recordPayment(orderId, payment), FOREVER));
    setStatus(recorded.status);
    if (recorded.decision === 'provision' || (recorded.decision === 'already_recorded' && (recorded.status === 'paid' || recorded.status === 'provisioning'))) {
      await provision();
    } else if (recorded.decision === 'refund_duplicate') {
      await step('refund_duplicate_payment', () => orders.refundOrderPayment(orderId, payment, `order-${orderId}-duplicate-${payment.externalId}`), FOREVER);
    }
  }

  async function provision(): Promise<void> {
    setStatus('provisioning');
    const subscribed = await step('subscribe', () => orders.provisionSubscription(orderId), maxAttempts);
    if (!subscribed.ok) return compensate(subscribed.error);
    const granted = await step('grant_credits', () => orders.grantOrderCredits(orderId), maxAttempts);
    if (!granted.ok) return compensate(granted.error);
    // Lifecycle timers: the grant's expiry and the subscription's period end (a renewal moves it).
    if (local || patched('lifecycle-timers')) await step('track_lifecycle', () => lifecycleHook.trackOrderLifecycle(orderId).then((value) => ({ ok: true as const, value })), FOREVER);
    // Events (order.paid, subscription.provisioned / renewed) are written by the steps' own transactions.
    setStatus(must(await step('complete', () => orders.completeOrder(orderId), FOREVER)));
  }

  /**
   * The saga's way back: undo what was granted, give the money back, and close the order refunded
   * with the reason (failed, with the reason, when the money could not be given back).
   */
  async function compensate(reason: string): Promise<void> {
    await step('revoke_provisioning', () => orders.revokeProvisioning(orderId), FOREVER);
    const refunded = await step('refund_payment', () => orders.refundOrderPayment(orderId, null, `order-${orderId}-compensation`), FOREVER);
    if (refunded.ok && patched(REFUSED_PAYMENT_REFUNDED_PATCH)) {
      setStatus(must(await step('close_refunded', () => orders.closeRefusedPayment(orderId, refunded.value, reason), FOREVER)));
      return;
    }
    const why = refunded.ok ? `provisioning failed (${reason}); payment refunded` : `provisioning failed (${reason}); refund failed (${refunded.error})`;
    setStatus(must(await step('fail_order', () => orders.failOrder(orderId, why), FOREVER)));
  }
}

/** An admin refund: give the money back through the channel, then revoke the refunded share. */
export async function orderRefundWorkflow(input: OrderRefundWorkflowInput): Promise<OrderProgress> {
  const { progress, step } = progressTracker(1000);
  const refunded = await step('gateway_refund', () => remoteOrders.refundForAdminRefund(input.refundId), 8);
  if (!refunded.ok) {
    await step('fail_refund', () => remoteOrders.failRefund(input.refundId, refunded.error), FOREVER);
    return progress;
  }
  await step('revoke_share', () => remoteOrders.settleRefund(input.refundId, refunded.value), FOREVER);
  return progress;
}
