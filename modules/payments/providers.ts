/**
 * What each channel kind does with money: open a payment session for an order, and give money back.
 * Every call is idempotent: Stripe calls carry an idempotency key, the gateway's refund carries our
 * refund id, so a retried activity never charges or refunds twice.
 */
import Stripe from 'stripe';
import type { Order, OrderPayment, PaymentChannel } from '../../generated/prisma/client';
import { withSignature } from './rules/gateway-signature';
import { BillingError } from '../../platform/errors';
import { channelConfig, type GatewayConfig } from './channels';
import type { PaymentsDeps } from './deps';

export interface PaymentSession {
  reference: string | null;
  url: string | null;
}

/** Stripe answers 4xx for a request that can never succeed: a refusal, not something to retry. */
function stripeRefusal(error: unknown): never {
  if (error instanceof Stripe.errors.StripeInvalidRequestError || error instanceof Stripe.errors.StripeCardError) {
    throw new BillingError('PAYMENT_PROVIDER_ERROR', `Stripe refused: ${error.message}`, { stripeCode: error.code ?? null });
  }
  throw error;
}

function gatewayNotifyUrl(deps: PaymentsDeps, channelCode: string): string {
  return `${deps.publicBaseUrl}/v1/webhooks/gateway/${encodeURIComponent(channelCode)}`;
}

/** The signed redirect to the gateway's payment page (docs/payments-gateway.md). Deterministic per order. */
function gatewayRedirectUrl(deps: PaymentsDeps, order: Order, config: GatewayConfig): string {
  const params = withSignature(
    {
      merchant_id: config.merchantId,
      out_trade_no: order.id,
      amount: String(order.amountMinor),
      currency: order.currency,
      subject: order.packageName,
      notify_url: gatewayNotifyUrl(deps, order.channelCode),
      timestamp: String(Math.floor(order.createdAt.getTime() / 1000)),
    },
    config.secret,
  );
  return `${config.gatewayUrl.replace(/\/$/, '')}/pay?${new URLSearchParams(params).toString()}`;
}

export async function openPaymentSession(deps: PaymentsDeps, order: Order, channel: PaymentChannel): Promise<PaymentSession> {
  switch (channel.kind) {
    case 'stripe': {
      const config = channelConfig(channel as PaymentChannel & { kind: 'stripe' });
      const session = await deps.stripe.checkout.sessions
        .create(
          {
            mode: 'payment',
            client_reference_id: order.id,
            metadata: { orderId: order.id, userId: order.userId },
            payment_intent_data: { metadata: { orderId: order.id } },
            line_items: [
              {
                quantity: 1,
                price_data: { currency: order.currency.toLowerCase(), unit_amount: order.amountMinor, product_data: { name: order.packageName } },
              },
            ],
            success_url: config.successUrl ?? `${deps.publicBaseUrl}/orders/${order.id}/paid`,
            cancel_url: config.cancelUrl ?? `${deps.publicBaseUrl}/orders/${order.id}/cancelled`,
          },
          { idempotencyKey: `order-${order.id}-checkout` },
        )
        .catch(stripeRefusal);
      return { reference: session.id, url: session.url };
    }
    case 'gateway':
      return { reference: order.id, url: gatewayRedirectUrl(deps, order, channelConfig(channel as PaymentChannel & { kind: 'gateway' })) };
    case 'manual':
      return { reference: null, url: null };
  }
}

/** Best effort: a Checkout Session left open after expiry or cancellation is closed, so it cannot be paid. */
export async function closePaymentSession(deps: PaymentsDeps, order: Order, channel: PaymentChannel): Promise<void> {
  if (channel.kind !== 'stripe' || !order.paymentReference) return;
  await deps.stripe.checkout.sessions.expire(order.paymentReference, {}, { idempotencyKey: `order-${order.id}-expire` }).catch(() => undefined);
}

/** Gives `amountMinor` of a payment back through its channel; `refundKey` names the refund (idempotency). */
export async function refundPayment(
  deps: PaymentsDeps,
  channel: PaymentChannel,
  payment: Pick<OrderPayment, 'externalId' | 'currency' | 'orderId'>,
  amountMinor: number,
  refundKey: string,
): Promise<string> {
  switch (channel.kind) {
    case 'stripe': {
      const refund = await deps.stripe.refunds
        .create(
          { payment_intent: payment.externalId, amount: amountMinor, metadata: { orderId: payment.orderId, refundKey } },
          { idempotencyKey: `refund-${refundKey}` },
        )
        .catch(stripeRefusal);
      return refund.id;
    }
    case 'gateway': {
      const config = channelConfig(channel as PaymentChannel & { kind: 'gateway' });
      const params = withSignature(
        {
          merchant_id: config.merchantId,
          out_trade_no: payment.orderId,
          trade_no: payment.externalId,
          refund_no: refundKey,
          amount: String(amountMinor),
          currency: payment.currency,
          timestamp: String(Math.floor(Date.now() / 1000)),
        },
        config.secret,
      );
      const response = await fetch(`${config.gatewayUrl.replace(/\/$/, '')}/refund`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(params).toString(),
        signal: AbortSignal.timeout(10_000),
      });
      const answer = (await response.json().catch(() => ({}))) as { code?: string; refund_id?: string; message?: string };
      if (response.status >= 500) throw new Error(`gateway refund answered ${response.status}`); // retried
      if (answer.code !== 'success' || !answer.refund_id) {
        throw new BillingError('PAYMENT_PROVIDER_ERROR', `Gateway refused the refund: ${answer.message ?? response.status}`);
      }
      return answer.refund_id;
    }
    case 'manual':
      // Money came outside the system and goes back the same way; the operator pays it out.
      return `manual-refund-${refundKey}`;
  }
}
