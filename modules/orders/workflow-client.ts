/**
 * Talks to the order workflows for any entry point (API routes, webhooks): start an order's run and
 * wait for its payment session, deliver payments with signal-with-start (so a payment that arrives
 * before the run exists, or after it ended, is never lost), ask for progress, start refunds.
 * When Temporal does not answer in time the caller gets 503 SERVICE_UNAVAILABLE and may retry safely.
 */
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { BillingError } from '../../platform/errors';
import type { OrderRefundView, OrderProgress, OrderView } from './views';
import type { orderRefundWorkflow, orderWorkflow } from '../../workflows/order';
import { OrderIdKey, OrderStatusKey, UserIdKey } from '../../workflows/search-attributes';
import {
  cancelSignal,
  orderRefundWorkflowId,
  orderWorkflowId,
  paymentSessionUpdate,
  paymentSignal,
  progressQuery,
  type OrderWorkflowInput,
  type PaymentSessionView,
  type PaymentSignal,
} from '../../workflows/order-contract';

export interface OrderWorkflowClientDeps {
  temporal: Client;
  taskQueue: string;
  callTimeoutMs: number;
  /** Overrides for the workflow's step retries (tests use short waits). */
  workflowOptions?: Pick<OrderWorkflowInput, 'maxStepAttempts' | 'retryBaseMs'>;
}

export class OrderWorkflowClient {
  constructor(private readonly deps: OrderWorkflowClientDeps) {}

  private input(orderId: string, userId: string): OrderWorkflowInput {
    return { orderId, userId, ...this.deps.workflowOptions };
  }

  private startOptions(orderId: string, userId: string) {
    return {
      workflowId: orderWorkflowId(orderId),
      taskQueue: this.deps.taskQueue,
      args: [this.input(orderId, userId)] as [OrderWorkflowInput],
      typedSearchAttributes: [
        { key: OrderIdKey, value: orderId },
        { key: UserIdKey, value: userId },
        { key: OrderStatusKey, value: 'pending_payment' },
      ],
    };
  }

  /** Fails with 503 when Temporal does not answer within the call timeout. */
  private async bounded<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await this.deps.temporal.withDeadline(Date.now() + this.deps.callTimeoutMs, call);
    } catch (error) {
      if (error instanceof BillingError) throw error;
      const failure = (error as { cause?: { type?: string; message?: string } }).cause;
      if (failure?.type === 'PAYMENT_PROVIDER_ERROR') throw new BillingError('PAYMENT_PROVIDER_ERROR', failure.message ?? 'Payment provider error.');
      throw new BillingError('SERVICE_UNAVAILABLE', 'The order workflow could not be reached; retry with the same Idempotency-Key.', { retryable: true });
    }
  }

  /** Starts the order's run (or finds it) and waits until its payment session exists. */
  async openPayment(order: OrderView): Promise<PaymentSessionView> {
    return this.bounded(() =>
      this.deps.temporal.workflow.executeUpdateWithStart(paymentSessionUpdate, {
        startWorkflowOperation: new WithStartWorkflowOperation<typeof orderWorkflow>('orderWorkflow', {
          ...this.startOptions(order.id, order.userId),
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      }),
    );
  }

  /** Delivers a payment to the order's run, starting one if none is running. */
  async deliverPayment(orderId: string, userId: string, payment: PaymentSignal): Promise<void> {
    await this.bounded(() =>
      this.deps.temporal.workflow.signalWithStart<typeof orderWorkflow, [PaymentSignal]>('orderWorkflow', {
        ...this.startOptions(orderId, userId),
        signal: paymentSignal,
        signalArgs: [payment],
      }),
    );
  }

  /** Tells a running order workflow its order was cancelled (the database already says so). */
  async notifyCancelled(orderId: string): Promise<void> {
    await this.bounded(() => this.deps.temporal.workflow.getHandle(orderWorkflowId(orderId)).signal(cancelSignal)).catch(() => undefined);
  }

  /** The run's progress, or null when it cannot be asked right now (no worker, no run). */
  async progress(orderId: string): Promise<OrderProgress | null> {
    try {
      return await this.deps.temporal.withDeadline(Date.now() + Math.min(this.deps.callTimeoutMs, 3_000), () =>
        this.deps.temporal.workflow.getHandle(orderWorkflowId(orderId)).query(progressQuery),
      );
    } catch {
      return null;
    }
  }

  async startRefund(refund: OrderRefundView, userId: string): Promise<void> {
    await this.bounded(() =>
      this.deps.temporal.workflow.start<typeof orderRefundWorkflow>('orderRefundWorkflow', {
        workflowId: orderRefundWorkflowId(refund.id),
        taskQueue: this.deps.taskQueue,
        args: [{ refundId: refund.id, orderId: refund.orderId }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        typedSearchAttributes: [
          { key: OrderIdKey, value: refund.orderId },
          { key: UserIdKey, value: userId },
        ],
      }),
    );
  }
}
