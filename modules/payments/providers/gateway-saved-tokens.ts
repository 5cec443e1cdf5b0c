/**
 * Off-session charges of a saved gateway token (docs/payments-gateway.md's scheme, extended with saved
 * tokens). The token is the gateway's: the customer entered their card on the gateway's page, and we
 * keep only the token, never card data. Every request is signed like the gateway's other calls.
 */
import { randomUUID } from 'node:crypto';
import { BillingError } from '../../../platform/errors';
import { withSignature } from '../rules/gateway-signature';
import type { OffSessionAnswer } from './provider';

/** A gateway channel's settings (modules/payments channel config, kind `gateway`). */
export interface GatewayAccount {
  gatewayUrl: string;
  merchantId: string;
  secret: string;
}

export interface OffSessionCharge {
  token: string;
  /** Our order id (the gateway's out_trade_no). */
  orderId: string;
  amountMinor: number;
  currency: string;
  /** Derived from the refill and its attempt: a repeat is the same charge at the gateway. */
  idempotencyKey: string;
}

async function post(account: GatewayAccount, path: string, fields: Record<string, string>): Promise<{ status: number; body: Record<string, string> }> {
  const params = withSignature({ merchant_id: account.merchantId, timestamp: String(Math.floor(Date.now() / 1000)), nonce: randomUUID(), ...fields }, account.secret);
  const response = await fetch(`${account.gatewayUrl.replace(/\/$/, '')}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, string>;
  // A 5xx is the gateway's trouble: thrown as a plain error, so the activity retries with the same key.
  if (response.status >= 500) throw new Error(`gateway ${path} answered ${response.status}`);
  return { status: response.status, body };
}

/** Charges a saved token off-session: approved, declined, or the bank wants the customer (requires_action). */
export async function chargeSavedToken(account: GatewayAccount, charge: OffSessionCharge): Promise<OffSessionAnswer> {
  const { status, body } = await post(account, '/charge', {
    token: charge.token,
    out_trade_no: charge.orderId,
    amount: String(charge.amountMinor),
    currency: charge.currency,
    idempotency_key: charge.idempotencyKey,
  });
  if (status !== 200 || body.code !== 'success') {
    throw new BillingError('PAYMENT_PROVIDER_ERROR', `Gateway refused the charge: ${body.message ?? status}`);
  }
  switch (body.status) {
    case 'approved':
      return { status: 'approved', tradeNo: body.trade_no ?? '' };
    case 'declined':
      return { status: 'declined', declineCode: body.decline_code ?? 'declined' };
    case 'requires_action':
      return { status: 'requires_action', actionUrl: body.action_url ?? '' };
    default:
      throw new BillingError('PAYMENT_PROVIDER_ERROR', `Gateway answered an unknown charge status "${body.status}".`);
  }
}

/** Asks the gateway to forget a saved token (the user removed the method). An unknown token is already gone. */
export async function forgetSavedToken(account: GatewayAccount, token: string): Promise<void> {
  const { status, body } = await post(account, '/tokens/delete', { token });
  if (status === 404) return;
  if (body.code !== 'success') throw new BillingError('PAYMENT_PROVIDER_ERROR', `Gateway refused to forget the token: ${body.message ?? status}`);
}
