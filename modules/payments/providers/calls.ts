/**
 * What the rest of modules/payments (and, through modules/payments/index.ts, others) does with money,
 * whatever the channel's kind: each call is the channel's provider's (providers/registry.ts).
 */
import type { Order, PaymentChannel } from '../../../generated/prisma/client';
import type { PaymentsDeps } from '../deps';
import { BillingError } from '../../../platform/errors';
import type { PaymentSession, ProviderPaymentRecord, RefundablePayment, SavedMethodCalls, SetupRequest, SetupSession } from './provider';
import { paymentProvider } from './registry';

export { CHANNEL_KINDS, RECONCILABLE_KINDS, webhookProvider } from './registry';

/** null: the channel's kind opens no session (manual). */
export function openPaymentSession(deps: PaymentsDeps, order: Order, channel: PaymentChannel): Promise<PaymentSession | null> {
  return paymentProvider(channel.kind).startPayment(deps, order, channel);
}

export function closePaymentSession(deps: PaymentsDeps, order: Order, channel: PaymentChannel): Promise<void> {
  return paymentProvider(channel.kind).closePayment(deps, order, channel);
}

export function refundPayment(deps: PaymentsDeps, channel: PaymentChannel, payment: RefundablePayment, amountMinor: number, refundKey: string): Promise<string> {
  return paymentProvider(channel.kind).refund(deps, channel, payment, amountMinor, refundKey);
}

/** The provider's records of a period; [] for a kind that keeps none (reconciliation refuses those channels first). */
export async function listProviderPayments(deps: PaymentsDeps, channel: PaymentChannel, from: Date, to: Date): Promise<ProviderPaymentRecord[]> {
  const list = paymentProvider(channel.kind).listPayments;
  return list ? list(deps, channel, from, to) : [];
}

/** The channel's saved-method calls (off-session charge, forget), or CHANNEL_UNAVAILABLE for a kind that saves none. */
export function savedMethodCalls(channel: PaymentChannel): SavedMethodCalls {
  const calls = paymentProvider(channel.kind).savedMethods;
  if (!calls) throw new BillingError('CHANNEL_UNAVAILABLE', `Payment channel "${channel.code}" does not keep saved payment methods.`, { channel: channel.code });
  return calls;
}

/** Whether the channel's provider saves methods on its own page (and reports them by a signed event). */
export function opensSetups(channel: PaymentChannel): boolean {
  return Boolean(paymentProvider(channel.kind).savedMethods?.openSetup);
}

/** Opens the provider's page where the user saves a method; CHANNEL_UNAVAILABLE when the channel is disabled or its provider has none. */
export function openSetupSession(deps: PaymentsDeps, channel: PaymentChannel, setup: SetupRequest): Promise<SetupSession> {
  const open = channel.enabled ? paymentProvider(channel.kind).savedMethods?.openSetup : undefined;
  if (!open) throw new BillingError('CHANNEL_UNAVAILABLE', `Payment channel "${channel.code}" does not open a page to save a payment method.`, { channel: channel.code });
  return open(deps, channel, setup);
}
