/**
 * The payment providers by channel kind. The kinds are the Prisma enum `PaymentChannelKind`
 * (prisma/schema/orders.prisma), the one source: the record below must name a provider for each, so
 * a kind added to the enum without a provider fails the typecheck. Add a provider: write its file in
 * this folder (implementing PaymentProvider), add its kind to the enum with a migration, register it here.
 */
import { PaymentChannelKind } from '../../../generated/prisma/enums';
import { BillingError } from '../../../platform/errors';
import { gatewayProvider } from './gateway';
import { manualProvider } from './manual';
import type { PaymentProvider } from './provider';
import { stripeProvider } from './stripe';

export type ChannelKind = PaymentChannelKind;

const PROVIDERS: Readonly<Record<ChannelKind, PaymentProvider>> = {
  stripe: stripeProvider,
  gateway: gatewayProvider,
  manual: manualProvider,
};

/** Every channel kind, in the enum's order (for request schemas). */
export const CHANNEL_KINDS = Object.values(PaymentChannelKind) as [ChannelKind, ...ChannelKind[]];

export function paymentProvider(kind: ChannelKind): PaymentProvider {
  return PROVIDERS[kind];
}

/** The kinds whose provider keeps records reconciliation can ask about. */
export const RECONCILABLE_KINDS: ChannelKind[] = CHANNEL_KINDS.filter((kind) => PROVIDERS[kind].listPayments !== null);

/** The kind that receives webhooks at a route, or NOT_FOUND when it receives none (a misconfigured route). */
export function webhookProvider(kind: ChannelKind): NonNullable<PaymentProvider['verifyWebhook']> {
  const verify = PROVIDERS[kind].verifyWebhook;
  if (!verify) throw new BillingError('NOT_FOUND', `A ${kind} channel receives no webhooks.`);
  return verify;
}
