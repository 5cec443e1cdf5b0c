/**
 * The generic redirect gateway (docs/payments-gateway.md): a signed redirect to its payment page, a
 * signed refund call carrying our refund id, its signed `GET /query` to reconcile (the local simulator
 * implements it), and HMAC-signed callbacks per channel.
 */
import type { Order, PaymentChannel } from '../../../generated/prisma/client';
import type { Database } from '../../../platform/database';
import { z } from '../../../platform/zod';
import { BillingError } from '../../../platform/errors';
import { hasValidSignature, looksSigned, withSignature, type GatewayParams } from '../rules/gateway-signature';
import type { PaymentsDeps } from '../deps';
import { gatewayCallbackSchema, gatewayParams, readOrRefuse } from '../webhook-events';
import type { WebhookDelivery } from '../webhooks';
import type { PaymentProvider, ProviderPaymentRecord } from './provider';
import { chargeSavedToken, forgetSavedToken } from './gateway-saved-tokens';
import { isUuid } from '../../../platform/schemas';

export const gatewaySettings = z.strictObject({
  gatewayUrl: z.url({ protocol: /^https?$/ }),
  merchantId: z.string().min(1).max(64),
  secret: z.string().min(16).max(256),
});
export type GatewaySettings = z.infer<typeof gatewaySettings>;

function settingsOf(channel: PaymentChannel): GatewaySettings {
  return gatewaySettings.parse(channel.config);
}

/**
 * The account that keeps a channel's saved payment tokens, or undefined for a channel whose provider saves
 * none (only the gateway does today; Stripe saves methods through Checkout on its side).
 */
export function savedTokenAccountOf(channel: PaymentChannel): GatewaySettings | undefined {
  return channel.kind === 'gateway' ? settingsOf(channel) : undefined;
}

function gatewayBase(settings: GatewaySettings): string {
  return settings.gatewayUrl.replace(/\/$/, '');
}

function gatewayNotifyUrl(deps: PaymentsDeps, channelCode: string): string {
  return `${deps.publicBaseUrl}/v1/webhooks/gateway/${encodeURIComponent(channelCode)}`;
}

/** The signed redirect to the gateway's payment page. Deterministic per order. */
function gatewayRedirectUrl(deps: PaymentsDeps, order: Order, settings: GatewaySettings): string {
  const params = withSignature(
    {
      merchant_id: settings.merchantId,
      out_trade_no: order.id,
      amount: String(order.amountMinor),
      currency: order.currency,
      subject: order.packageName,
      notify_url: gatewayNotifyUrl(deps, order.channelCode),
      timestamp: String(Math.floor(order.createdAt.getTime() / 1000)),
    },
    settings.secret,
  );
  return `${gatewayBase(settings)}/pay?${new URLSearchParams(params).toString()}`;
}

interface GatewayTrade {
  out_trade_no: string;
  trade_no: string;
  amount: number | string;
  currency: string;
  status: string;
  refunded?: number | string;
}

async function gatewayRecords(_deps: PaymentsDeps, channel: PaymentChannel, from: Date, to: Date): Promise<ProviderPaymentRecord[]> {
  const settings = settingsOf(channel);
  const params = withSignature(
    {
      merchant_id: settings.merchantId,
      from: String(Math.floor(from.getTime() / 1000)),
      to: String(Math.floor(to.getTime() / 1000)),
      timestamp: String(Math.floor(Date.now() / 1000)),
    },
    settings.secret,
  );
  const response = await fetch(`${gatewayBase(settings)}/query?${new URLSearchParams(params).toString()}`, { signal: AbortSignal.timeout(15_000) });
  const answer = (await response.json().catch(() => ({}))) as { code?: string; trades?: GatewayTrade[]; message?: string };
  if (!response.ok || answer.code !== 'success' || !Array.isArray(answer.trades)) {
    throw new Error(`gateway query answered ${response.status}: ${answer.message ?? answer.code ?? 'no trades'}`);
  }
  return answer.trades.map((trade) => ({
    orderId: trade.out_trade_no || null,
    externalId: trade.trade_no,
    amountMinor: Number(trade.amount),
    currency: String(trade.currency).toUpperCase(),
    succeeded: trade.status === 'success',
    refundedMinor: Number(trade.refunded ?? 0),
  }));
}

/** How far a gateway callback's timestamp may be from now (seconds): older ones are replays. */
const GATEWAY_TOLERANCE_SECONDS = 300;

type GatewayChannel = PaymentChannel & { kind: 'gateway' };

/**
 * Verifies a gateway callback's signature and answers its channel. A callback without a well-formed
 * `sign` is refused before the database is asked for the channel's secret.
 */
async function verifyGatewaySignature(db: Database, channelCode: string, params: GatewayParams): Promise<GatewayChannel> {
  if (!looksSigned(params)) throw new BillingError('WEBHOOK_SIGNATURE_INVALID', 'Gateway callback without a signature.');
  const channel = await db.paymentChannel.findUnique({ where: { code: channelCode } });
  if (!channel || channel.kind !== 'gateway') throw new BillingError('NOT_FOUND', `No gateway channel "${channelCode}".`, { channel: channelCode });
  if (!hasValidSignature(params, settingsOf(channel).secret)) throw new BillingError('WEBHOOK_SIGNATURE_INVALID', 'Gateway signature rejected.');
  return channel as GatewayChannel;
}

/**
 * Reads a verified callback: fresh, naming an order of this channel with its amount and currency.
 * `success` pays, `failed` fails; another status is recorded and acknowledged (a gateway may report
 * intermediate states), never taken for a failure.
 */
async function gatewayDelivery(db: Database, channel: GatewayChannel, params: GatewayParams): Promise<WebhookDelivery> {
  const callback = readOrRefuse(gatewayCallbackSchema, params, 'The callback');
  if (Math.abs(Date.now() / 1000 - Number(callback.timestamp)) > GATEWAY_TOLERANCE_SECONDS) {
    throw new BillingError('WEBHOOK_SIGNATURE_INVALID', 'Gateway callback timestamp is stale.');
  }
  const config = settingsOf(channel);
  const order = isUuid(callback.out_trade_no) ? await db.order.findUnique({ where: { id: callback.out_trade_no } }) : null;
  if (!order || order.channelId !== channel.id || callback.merchant_id !== config.merchantId) {
    throw new BillingError('PAYMENT_MISMATCH', 'The callback names no order of this channel.', { out_trade_no: callback.out_trade_no });
  }
  if (callback.amount !== String(order.amountMinor) || callback.currency !== order.currency) {
    throw new BillingError('PAYMENT_MISMATCH', 'Amount or currency differ from the order.', {
      expected: { amount: String(order.amountMinor), currency: order.currency },
      received: { amount: callback.amount, currency: callback.currency },
    });
  }
  const outcome = callback.status === 'success' ? 'succeeded' : callback.status === 'failed' ? 'failed' : null;
  return {
    provider: `gateway:${channel.code}`,
    eventId: `${callback.trade_no}:${callback.status}`,
    type: `payment.${callback.status}`,
    orderId: order.id,
    payload: params,
    payment: outcome && {
      outcome,
      source: 'gateway',
      externalId: callback.trade_no,
      amountMinor: order.amountMinor,
      currency: order.currency,
      actor: `gateway:${channel.code}`,
      eventId: callback.trade_no,
    },
  };
}

export const gatewayProvider: PaymentProvider = {
  configSchema: gatewaySettings,
  secretFields: ['secret'],

  async startPayment(deps, order, channel) {
    return { reference: order.id, url: gatewayRedirectUrl(deps, order, settingsOf(channel)) };
  },

  // The redirect carries no session to close: an expired order refuses the callback instead.
  async closePayment() {},

  async refund(_deps, channel, payment, amountMinor, refundKey) {
    const settings = settingsOf(channel);
    const params = withSignature(
      {
        merchant_id: settings.merchantId,
        out_trade_no: payment.orderId,
        trade_no: payment.externalId,
        refund_no: refundKey,
        amount: String(amountMinor),
        currency: payment.currency,
        timestamp: String(Math.floor(Date.now() / 1000)),
      },
      settings.secret,
    );
    const response = await fetch(`${gatewayBase(settings)}/refund`, {
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
  },

  listPayments: gatewayRecords,

  verifyWebhook: async (_deps, db, request) => {
    const callback = gatewayParams(request.rawBody, request.header('content-type'));
    const channel = await verifyGatewaySignature(db, request.channelCode ?? '', callback);
    return () => gatewayDelivery(db, channel, callback);
  },

  savedMethods: {
    charge: async (_deps, channel, charge) =>
      chargeSavedToken(settingsOf(channel), {
        token: charge.methodRef,
        orderId: charge.orderId,
        amountMinor: charge.amountMinor,
        currency: charge.currency,
        idempotencyKey: charge.idempotencyKey,
      }),
    forget: async (_deps, channel, methodRef) => forgetSavedToken(settingsOf(channel), methodRef),
    // The gateway's own card page answers the token, and the client saves it (POST /v1/me/payment-methods).
    openSetup: null,
  },
};
