import { z } from '../../infra/zod';
import { BillingError } from '../../domain/errors';
import { takeInPayment } from '../../orders/intake';
import { stripeDelivery, verifyGatewayCallback, verifyStripeEvent } from '../../payments/webhooks';
import { defineRoute, type RouteDefinition } from '../route';

/**
 * Payment notifications in. No credential: each is authenticated by its signature over the raw body.
 * A stored event is never signalled twice; Temporal unreachable is 503, so the sender retries.
 */
const TAG = 'Webhooks';

const receivedSchema = z
  .object({ code: z.literal('success'), result: z.enum(['signalled', 'duplicate', 'ignored']) })
  .openapi('WebhookReceived', { description: 'Acknowledged: the sender must not retry.' });

function formOrJson(raw: Buffer, contentType: string | undefined): Record<string, string> {
  const text = raw.toString('utf8');
  if ((contentType ?? '').includes('application/json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new BillingError('VALIDATION_FAILED', 'Callback body is not valid JSON.', { issues: [{ path: 'body', message: 'invalid JSON' }] });
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new BillingError('VALIDATION_FAILED', 'Callback body must be an object.', { issues: [{ path: 'body', message: 'expected an object' }] });
    }
    return Object.fromEntries(Object.entries(parsed).map(([key, value]) => [key, String(value)]));
  }
  return Object.fromEntries(new URLSearchParams(text));
}

export const webhookRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/webhooks/stripe',
    access: 'public',
    tag: TAG,
    summary:
      'Stripe events, verified by Stripe-Signature on the raw body. Fulfils checkout.session.completed (paid) and async_payment_succeeded; fails on async_payment_failed; records charge.refunded; ignores the rest.',
    rawBody: true,
    response: receivedSchema,
    errors: ['WEBHOOK_SIGNATURE_INVALID', 'SERVICE_UNAVAILABLE'],
    handler: async ({ req, rawBody, deps }) => {
      const event = verifyStripeEvent(deps.payments, rawBody!, req.get('stripe-signature'));
      const result = await takeInPayment(deps.db, deps.orders, stripeDelivery(event));
      req.log?.info({ stripeEvent: event.id, type: event.type, result }, 'stripe event');
      return { body: { code: 'success' as const, result } };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/webhooks/gateway/:channel',
    access: 'public',
    tag: TAG,
    summary:
      'Callback of a generic redirect gateway (docs/payments-gateway.md): form or JSON parameters signed with HMAC-SHA256; answered {"code":"success"} once accepted.',
    params: z.strictObject({ channel: z.string().min(1).max(64).regex(/^[a-z0-9]+(?:[_-][a-z0-9]+)*$/, 'a channel code') }),
    rawBody: true,
    response: receivedSchema,
    errors: ['NOT_FOUND', 'WEBHOOK_SIGNATURE_INVALID', 'PAYMENT_MISMATCH', 'SERVICE_UNAVAILABLE'],
    handler: async ({ req, rawBody, params, deps }) => {
      const delivery = await verifyGatewayCallback(deps.db, params.channel, formOrJson(rawBody!, req.get('content-type')));
      const result = await takeInPayment(deps.db, deps.orders, delivery);
      req.log?.info({ channel: params.channel, event: delivery.eventId, result }, 'gateway callback');
      return { body: { code: 'success' as const, result } };
    },
  }),
];
