/**
 * The public face of modules/payments: what other modules, api/, activities/, worker/ and prisma/ may import.
 * Everything else in this folder is private to it (dependency-cruiser checks that, see .dependency-cruiser.cjs).
 * Workflow code imports modules/payments/rules/ and modules/payments/shapes.ts instead, never this file.
 */
export { CHANNEL_KINDS, channelConfig, channelView, createChannel, getChannel, listChannels, listPublicChannels, updateChannel } from './channels';
export { DEV_STRIPE_SECRET_KEY, paymentsConfigShape } from './config';
export type { PaymentsDeps } from './deps';
export { paymentsFromConfig } from './from-config';
export { closePaymentSession, openPaymentSession, refundPayment } from './providers';
export { gatewayCallbackSchema, gatewayParams, stripeEventSchema } from './webhook-events';
export { gatewayDelivery, markSignalled, storeEvent, stripeDelivery, verifyGatewaySignature, verifyStripeSignature } from './webhooks';
export type { WebhookDelivery } from './webhooks';
