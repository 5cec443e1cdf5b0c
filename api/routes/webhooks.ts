import { z } from '../../platform/zod';
import { takeInPayment } from '../../modules/orders';
import { saveStripeSetup } from '../../modules/topups';
import { gatewayCallbackSchema, stripeEventSchema, webhookProvider } from '../../modules/payments';
import { markSignatureVerified } from '../edge';
import { ids } from '../examples';
import { defineRoute, type RouteDefinition } from '../route';
import { codeSchema } from '../../platform/schemas';

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

const stripeEventBody = stripeEventSchema.openapi('StripeEvent', { description: 'A Stripe event (https://docs.stripe.com/api/events/object); read only after Stripe-Signature verified.' });
const gatewayCallbackBody = gatewayCallbackSchema
  .extend({
    sign: z.string().regex(/^[0-9a-f]{64}$/).openapi({
      description: 'HMAC-SHA256 (hex) with the channel secret over the other non-empty parameters sorted by name, joined as k=v with & (docs/payments-gateway.md).',
    }),
  })
  .openapi('GatewayCallback', { description: 'Also accepted as application/x-www-form-urlencoded with the same parameters.' });

export const webhookRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/webhooks/stripe',
    access: 'public',
    tag: TAG,
    operationId: 'receiveStripeEvent',
    summary: 'Receive a Stripe event',
    description:
      'Stripe events, verified by Stripe-Signature on the raw body before anything else is read. Fulfils checkout.session.completed (paid) and checkout.session.async_payment_succeeded; fails the order on async_payment_failed; records charge.refunded; keeps the card a user saved (setup_intent.succeeded, checkout.session.completed in setup mode) as a saved payment method, once; records and acknowledges the rest. A signed body that is not an event, or a handled checkout.session event whose session cannot be read, is 400 VALIDATION_FAILED.',
    rawBody: true,
    body: stripeEventBody,
    response: receivedSchema,
    errors: ['WEBHOOK_SIGNATURE_INVALID', 'VALIDATION_FAILED', 'SERVICE_UNAVAILABLE'],
    examples: {
      request: {
        id: 'evt_1Qx2a3b4c5d6e7f8',
        type: 'checkout.session.completed',
        data: {
          object: {
            id: 'cs_test_a1b2c3',
            object: 'checkout.session',
            client_reference_id: ids.order,
            metadata: { orderId: ids.order },
            payment_intent: 'pi_3Nx0a1b2c3',
            payment_status: 'paid',
            amount_total: 799,
            currency: 'usd',
          },
        },
      },
      response: { code: 'success', result: 'signalled' },
    },
    handler: async ({ req, rawBody, deps }) => {
      const read = await webhookProvider('stripe')(deps.payments, deps.db, { rawBody: rawBody!, header: (name) => req.get(name) });
      markSignatureVerified(req);
      const delivery = await read();
      // A saved card is kept before the event is recorded: if Stripe cannot be asked now, the 5xx makes Stripe send it again.
      if (delivery.setup) await saveStripeSetup(deps.db, deps.payments, delivery.setup, delivery.eventId);
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
    operationId: 'receiveGatewayCallback',
    summary: 'Receive a gateway callback',
    description:
      'Callback of a generic redirect gateway (docs/payments-gateway.md): form or JSON parameters signed with HMAC-SHA256 under the channel secret; answered {"code":"success"} once accepted. A status other than success or failed is recorded and acknowledged as ignored; an amount, currency or merchant that does not match the order is PAYMENT_MISMATCH.',
    params: z.strictObject({ channel: codeSchema }),
    rawBody: true,
    body: gatewayCallbackBody,
    response: receivedSchema,
    errors: ['NOT_FOUND', 'WEBHOOK_SIGNATURE_INVALID', 'PAYMENT_MISMATCH', 'SERVICE_UNAVAILABLE'],
    examples: {
      request: {
        merchant_id: 'm-1001',
        out_trade_no: ids.order,
        trade_no: 'T20260120080210001',
        status: 'success',
        amount: '799',
        currency: 'USD',
        timestamp: '1768896130',
        sign: '5f0c2b9d8e7a6f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c',
      },
      response: { code: 'success', result: 'signalled' },
    },
    handler: async ({ req, rawBody, params, deps }) => {
      const read = await webhookProvider('gateway')(deps.payments, deps.db, { rawBody: rawBody!, header: (name) => req.get(name), channelCode: params.channel });
      markSignatureVerified(req);
      const delivery = await read();
      const result = await takeInPayment(deps.db, deps.orders, delivery);
      req.log?.info({ channel: params.channel, event: delivery.eventId, result }, 'gateway callback');
      return { body: { code: 'success' as const, result } };
    },
  }),
];
