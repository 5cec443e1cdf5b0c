/**
 * The gateway's own records of a period, normalised for modules/reconciliation/rules/reconciliation.ts:
 * - Stripe: the PaymentIntents created in the period and the refunds made in it, through the SDK
 *   (`metadata.orderId` names our order; Checkout sets it via payment_intent_data).
 * - The generic gateway: its signed `GET /query` (docs/payments-gateway.md §4), which the local
 *   simulator implements.
 */
import type Stripe from 'stripe';
import { withSignature } from '../payments/rules/gateway-signature';
import type { GatewayRecord } from './rules/reconciliation';
import type { PaymentChannel } from '../../generated/prisma/client';
import { channelConfig, type PaymentsDeps } from '../payments';
/** A period can hold at most this many records per list; more would need a narrower period. */
const MAX_RECORDS = 10_000;

async function stripeRecords(stripe: Stripe, from: Date, to: Date): Promise<GatewayRecord[]> {
  const created = { gte: Math.floor(from.getTime() / 1000), lt: Math.floor(to.getTime() / 1000) };
  const intents = await stripe.paymentIntents.list({ created, limit: 100 }).autoPagingToArray({ limit: MAX_RECORDS });
  const refunds = await stripe.refunds.list({ created, limit: 100 }).autoPagingToArray({ limit: MAX_RECORDS });
  const refundedByIntent = new Map<string, number>();
  for (const refund of refunds) {
    if (refund.status === 'failed' || refund.status === 'canceled') continue;
    const intent = typeof refund.payment_intent === 'string' ? refund.payment_intent : (refund.payment_intent?.id ?? null);
    if (intent) refundedByIntent.set(intent, (refundedByIntent.get(intent) ?? 0) + refund.amount);
  }
  const records: GatewayRecord[] = intents.map((intent) => ({
    orderId: intent.metadata?.orderId ?? null,
    externalId: intent.id,
    amountMinor: intent.amount_received || intent.amount,
    currency: intent.currency.toUpperCase(),
    succeeded: intent.status === 'succeeded',
    refundedMinor: refundedByIntent.get(intent.id) ?? 0,
  }));
  // A refund of a payment outside the period's intents: only the gateway knows it here.
  const known = new Set(intents.map((intent) => intent.id));
  for (const [intent, amount] of refundedByIntent) {
    if (!known.has(intent)) records.push({ orderId: null, externalId: intent, amountMinor: 0, currency: '', succeeded: true, refundedMinor: amount });
  }
  return records;
}

interface GatewayTrade {
  out_trade_no: string;
  trade_no: string;
  amount: number | string;
  currency: string;
  status: string;
  refunded?: number | string;
}

async function gatewayRecords(channel: PaymentChannel & { kind: 'gateway' }, from: Date, to: Date): Promise<GatewayRecord[]> {
  const config = channelConfig(channel);
  const params = withSignature(
    {
      merchant_id: config.merchantId,
      from: String(Math.floor(from.getTime() / 1000)),
      to: String(Math.floor(to.getTime() / 1000)),
      timestamp: String(Math.floor(Date.now() / 1000)),
    },
    config.secret,
  );
  const response = await fetch(`${config.gatewayUrl.replace(/\/$/, '')}/query?${new URLSearchParams(params).toString()}`, { signal: AbortSignal.timeout(15_000) });
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

export async function fetchGatewayRecords(payments: PaymentsDeps, channel: PaymentChannel, from: Date, to: Date): Promise<GatewayRecord[]> {
  switch (channel.kind) {
    case 'stripe':
      return stripeRecords(payments.stripe, from, to);
    case 'gateway':
      return gatewayRecords(channel as PaymentChannel & { kind: 'gateway' }, from, to);
    case 'manual':
      return []; // no gateway to ask: manual payments are confirmed by an operator
  }
}
