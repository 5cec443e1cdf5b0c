/**
 * The public face of modules/payments: what other modules, api/, activities/, worker/ and prisma/ may import.
 * Everything else in this folder is private to it (dependency-cruiser checks that, see .dependency-cruiser.cjs).
 * Workflow code imports modules/payments/rules/ and modules/payments/shapes.ts instead, never this file.
 */
export { channelView, createChannel, getChannel, listChannels, listPublicChannels, updateChannel } from './channels';
export { DEV_STRIPE_SECRET_KEY, paymentsConfigShape } from './config';
export type { PaymentsDeps } from './deps';
export { paymentsFromConfig } from './from-config';
export { CHANNEL_KINDS, RECONCILABLE_KINDS, closePaymentSession, listProviderPayments, openPaymentSession, refundPayment, webhookProvider } from './providers/calls';
export { savedTokenAccountOf } from './providers/gateway';
export { gatewayCallbackSchema, gatewayParams, stripeEventSchema } from './webhook-events';
export { markSignalled, storeEvent } from './webhooks';
export type { WebhookDelivery } from './webhooks';
export { openSetupSession, opensSetups, savedMethodCalls } from './providers/calls';
export type { OffSessionAnswer, SavedMethodCharge } from './providers/provider';
export { chargeSavedToken, forgetSavedToken } from './providers/gateway-saved-tokens';
export type { GatewayAccount, OffSessionCharge } from './providers/gateway-saved-tokens';
export { createStripeCustomer, readStripeSetup } from './providers/stripe-saved-methods';
export type { SavedStripeMethod, StripeSetup } from './providers/stripe-saved-methods';
