/**
 * The `webhooks` of the OpenAPI document: one operation per event type of the registry
 * (platform/outbox/event-types.ts), with the body a receiver gets (the envelope of modules/events/delivery.ts around the
 * type's payload schema) and the Standard Webhooks headers that sign it. docs/events.md tells the
 * same from the same registry, for readers rather than generators.
 */
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from '../platform/zod';
import { EVENT_TYPES, type EventPayload, type EventType } from '../platform/outbox/event-types';
import { ids } from './examples';
import { uuidSchema } from '../platform/schemas';

export const WEBHOOK_TAG = 'Webhook events';

/** One example payload per event type; the mapped type makes a new type without one a compile error. */
export const EVENT_PAYLOAD_EXAMPLES: { [T in EventType]: EventPayload<T> } = {
  'credits.granted': {
    grantId: ids.grant,
    packageCode: 'pro_monthly',
    source: 'purchase',
    credits: 500,
    startsAt: '2026-01-20T08:02:12.000Z',
    expiresAt: '2026-02-19T08:02:12.000Z',
  },
  'credits.deducted': { consumptionId: ids.consumption, actionKey: 'pdf_export', quantity: 2, credits: 4 },
  'reservation.committed': {
    reservationId: ids.reservation,
    consumptionId: ids.consumption,
    actionKey: 'resume_optimize',
    quantity: 1,
    credits: 5,
    releasedCredits: 0,
  },
  'reservation.released': { reservationId: ids.reservation, actionKey: 'resume_optimize', credits: 5, outcome: 'expired' },
  'reservation.refunded': {
    refundId: ids.refund,
    consumptionId: ids.consumption,
    reservationId: ids.reservation,
    credits: 5,
    reason: 'The optimization failed downstream.',
  },
  'balance.low': { availableCredits: 8, threshold: 10 },
  'top_up.failed': { ruleId: '6f1c2a34-8b7e-4d2f-9a10-3c5e7b9d1f20', refillId: 'top-up-6f1c2a34-8b7e-4d2f-9a10-3c5e7b9d1f20-42', orderId: '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b', reason: 'payment_declined', rulePaused: true, trigger: 'threshold' },
  'top_up.requires_action': { ruleId: null, refillId: 'top-up-manual-3b9f0c1d2e4a5b6c7d8e9f0a1b2c3d4e', orderId: '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b', actionUrl: 'https://gateway.example/authenticate?idempotency_key=top-up-manual-3b9f0c1d2e4a5b6c7d8e9f0a1b2c3d4e%3Acharge%3A0', trigger: 'manual' },
  'top_up.succeeded': { ruleId: '6f1c2a34-8b7e-4d2f-9a10-3c5e7b9d1f20', refillId: 'top-up-6f1c2a34-8b7e-4d2f-9a10-3c5e7b9d1f20-42', orderId: '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b', amountMinor: 1000, currency: 'USD', trigger: 'threshold' },
  'action_price.changed': {
    actionKey: 'resume_optimize',
    before: { name: 'Resume optimization', creditsPerUnit: 4, status: 'active' },
    after: { name: 'Resume optimization', creditsPerUnit: 5, status: 'active' },
  },
  'order.paid': { orderId: ids.order, packageCode: 'pro_monthly', amountMinor: 799, currency: 'USD', paidAt: '2026-01-20T08:02:10.000Z' },
  'subscription.provisioned': {
    subscriptionId: ids.subscription,
    orderId: ids.order,
    packageCode: 'pro_monthly',
    grantId: ids.grant,
    currentPeriodEnd: '2026-02-19T08:02:12.000Z',
  },
  'subscription.renewed': {
    subscriptionId: ids.subscription,
    orderId: ids.order,
    packageCode: 'pro_monthly',
    grantId: ids.grant,
    currentPeriodEnd: '2026-03-21T08:02:12.000Z',
  },
  'order.refunded': {
    orderId: ids.order,
    amountMinor: 799,
    currency: 'USD',
    reason: 'Customer asked within the refund window.',
    revokedGrantIds: [ids.grant],
  },
  'invoice.issued': {
    invoiceId: ids.invoice,
    number: 'DB-2026-000123',
    orderId: ids.order,
    totalMinor: 799,
    taxMinor: 128,
    currency: 'USD',
    issuedAt: '2026-01-20T08:02:12.000Z',
  },
  'credit_note.issued': {
    creditNoteId: ids.creditNote,
    number: 'CN-2026-000007',
    invoiceId: ids.invoice,
    orderId: ids.order,
    amountMinor: 799,
    currency: 'USD',
    issuedAt: '2026-01-22T10:00:00.000Z',
  },
  'inspection.findings': { reportId: '6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b', findings: 2, byKind: { ledger_mismatch: 1, hold_past_deadline: 0, grant_past_expiry: 0, paid_not_provisioned: 0, dead_letters: 1 } },
  'package.expiring_soon': { grantId: ids.grant, packageCode: 'pro_monthly', expiresAt: '2026-02-19T08:02:12.000Z', remainingCredits: 140 },
  'package.expired': { grantId: ids.grant, packageCode: 'pro_monthly', expiredAt: '2026-02-19T08:02:12.000Z', lapsedCredits: 140 },
  'webhook_endpoint.disabled': { endpointId: ids.endpoint, reason: 'failing', failingSince: '2026-01-26T12:00:00.000Z' },
  'webhook.test': { endpointId: ids.endpoint, message: 'Test event from durable-billing.' },
};

/** Event types without a subject user: their envelope's `userId` is null. */
const WITHOUT_USER: ReadonlySet<EventType> = new Set(['action_price.changed', 'webhook_endpoint.disabled', 'webhook.test']);

/** `credits.granted` -> `CreditsGranted`. */
function pascal(type: string): string {
  return type
    .split(/[._]/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

/** The body of a delivery of `type` (modules/events/delivery.ts, webhookBody). */
export function webhookEnvelopeSchema<T extends EventType>(type: T) {
  return z
    .object({
      id: uuidSchema.openapi({ description: 'The event id; also the `webhook-id` header. The same on every retry and replay: dedupe on it.' }),
      type: z.literal(type),
      timestamp: z.iso.datetime().openapi({ description: 'When the event happened (UTC).' }),
      userId: z.string().nullable().openapi({ description: 'The user the event is about; null for events without one.' }),
      data: EVENT_TYPES[type].payload,
    })
    .openapi(`${pascal(type)}Webhook`, { description: `A \`${type}\` delivery. Fields are only ever added: ignore those you do not know.` });
}

export function webhookExample(type: EventType) {
  return {
    id: ids.event,
    type,
    timestamp: '2026-01-31T12:00:04.000Z',
    userId: WITHOUT_USER.has(type) ? null : ids.user,
    data: EVENT_PAYLOAD_EXAMPLES[type],
  };
}

const signatureHeaders = z.object({
  'webhook-id': uuidSchema.openapi({ description: 'The event id: the same on every attempt and replay of this event. Dedupe on it.' }),
  'webhook-timestamp': z
    .string()
    .regex(/^\d+$/)
    .openapi({ description: 'Unix seconds when this attempt was signed. Refuse one far from your clock (Standard Webhooks libraries allow 5 minutes).', example: '1769860804' }),
  'webhook-signature': z.string().openapi({
    description:
      'Space-separated `v1,<base64 HMAC-SHA256>` signatures of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the base64 part of the endpoint secret (`whsec_…`); two during a secret rotation overlap. Verify with a Standard Webhooks library (`standardwebhooks` on npm) against the raw body.',
    example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
  }),
});

const DELIVERY_RULES =
  'Answer any 2xx within 15 s (WEBHOOK_TIMEOUT_MS) to acknowledge. Anything else, no answer or a redirect is retried on a schedule (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); a `Retry-After` header can push the next attempt later. `410 Gone` disables the endpoint. Order across events is not guaranteed: use `timestamp`. Details: docs/events.md.';

export function registerWebhooks(registry: OpenAPIRegistry): void {
  for (const type of Object.keys(EVENT_TYPES) as EventType[]) {
    const operationName = pascal(type);
    registry.registerWebhook({
      method: 'post',
      path: type,
      operationId: `receive${operationName}Event`,
      summary: `\`${type}\` event`,
      description: `${EVENT_TYPES[type].description}\n\nPOSTed to each enabled endpoint subscribed to \`${type}\` (or to every type), signed per Standard Webhooks. ${DELIVERY_RULES}`,
      tags: [WEBHOOK_TAG],
      // Sent by this service, not called on it: the receiver checks webhook-signature (below), no credential.
      security: [],
      request: {
        headers: signatureHeaders,
        body: { required: true, content: { 'application/json': { schema: webhookEnvelopeSchema(type), example: webhookExample(type) } } },
      },
      responses: {
        '2XX': { description: 'Acknowledged: the delivery is done.' },
        '410': { description: 'Gone: the endpoint is disabled at once (a `webhook_endpoint.disabled` event records it).' },
        default: { description: 'Any other answer, or none in time, is retried on the schedule; after the last attempt the delivery is failed (replayable by an operator).' },
      },
    });
  }
}
