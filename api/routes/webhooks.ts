import { z } from '../../infra/zod';
import { takeInPayment } from '../../orders/intake';
import { gatewayParams } from '../../payments/webhook-events';
import { gatewayDelivery, stripeDelivery, verifyGatewaySignature, verifyStripeSignature } from '../../payments/webhooks';
import { markSignatureVerified } from '../edge';
import { defineRoute, type RouteDefinition } from '../route';

/**
 * Payment notifications in. No credential: each is authenticated by its signature over the raw body,
 * checked before anything else is read (and, for Stripe, before any database work). Once it verifies,
 * the request is marked so the anonymous rate limit does not count it (api/edge.ts). A signed body
 * that cannot be read is 400 VALIDATION_FAILED, an event of a kind the service does not act on is
 * recorded and acknowledged (docs/api.md, "Payment webhooks"). A stored event is never signalled
 * twice; Temporal unreachable is 503, so the sender retries.
 */
const TAG = 'Webhooks';

const receivedSchema = z
  .object({ code: z.literal('success'), result: z.enum(['signalled', 'duplicate', 'ignored']) })
  .openapi('WebhookReceived', { description: 'Acknowledged: the sender must not retry.' });

export const webhookRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/webhooks/stripe',
    access: 'public',
    tag: TAG,
    summary:
      'Stripe events, verified by Stripe-Signature on the raw body. Fulfils checkout.session.completed (paid) and async_payment_succeeded; fails on async_payment_failed; records charge.refunded; ignores the rest. A signed body that is not an event, or a handled checkout.session event whose session cannot be read, is 400 VALIDATION_FAILED.',
    rawBody: true,
    response: receivedSchema,
    errors: ['WEBHOOK_SIGNATURE_INVALID', 'VALIDATION_FAILED', 'SERVICE_UNAVAILABLE'],
    handler: async ({ req, rawBody, deps }) => {
      verifyStripeSignature(deps.payments, rawBody!, req.get('stripe-signature'));
      markSignatureVerified(req);
      const delivery = stripeDelivery(rawBody!);
      const result = await takeInPayment(deps.db, deps.orders, delivery);
      req.log?.info({ stripeEvent: delivery.eventId, type: delivery.type, result }, 'stripe event');
      return { body: { code: 'success' as const, result } };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/webhooks/gateway/:channel',
    access: 'public',
    tag: TAG,
    summary:
      'Callback of a generic redirect gateway (docs/payments-gateway.md): form or JSON parameters signed with HMAC-SHA256; answered {"code":"success"} once accepted. A status other than success or failed is recorded and acknowledged as ignored.',
    params: z.strictObject({ channel: z.string().min(1).max(64).regex(/^[a-z0-9]+(?:[_-][a-z0-9]+)*$/, 'a channel code') }),
    rawBody: true,
    response: receivedSchema,
    errors: ['NOT_FOUND', 'WEBHOOK_SIGNATURE_INVALID', 'PAYMENT_MISMATCH', 'SERVICE_UNAVAILABLE'],
    handler: async ({ req, rawBody, params, deps }) => {
      const callback = gatewayParams(rawBody!, req.get('content-type'));
      const channel = await verifyGatewaySignature(deps.db, params.channel, callback);
      markSignatureVerified(req);
      const delivery = await gatewayDelivery(deps.db, channel, callback);
      const result = await takeInPayment(deps.db, deps.orders, delivery);
      req.log?.info({ channel: params.channel, event: delivery.eventId, result }, 'gateway callback');
      return { body: { code: 'success' as const, result } };
    },
  }),
];
