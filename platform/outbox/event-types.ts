/**
 * The one registry of event types: each type's payload zod schema and what it means. recordEvent
 * validates against it, docs/events.md is generated from it (`npx tsx scripts/events-doc.ts`; a test keeps
 * the page in sync), and the admin API filters by it. Payloads change only by adding fields: receivers
 * must ignore fields they do not know.
 */
import { z } from 'zod';
import { currencyCodeSchema, uuidSchema } from '../schemas';

const userCredits = z.number().int().min(0);
const isoTime = z.iso.datetime({ offset: true });

export const EVENT_TYPES = {
  'credits.granted': {
    description: 'A grant (user package) was assigned to the user: its credits are spendable from startsAt.',
    payload: z.object({
      grantId: uuidSchema,
      packageCode: z.string().nullable(),
      source: z.string(),
      credits: userCredits,
      startsAt: isoTime,
      expiresAt: isoTime.nullable(),
    }),
  },
  'credits.deducted': {
    description: 'A one-shot action was charged (POST /v1/internal/credits/deduct).',
    payload: z.object({ consumptionId: uuidSchema, actionKey: z.string(), quantity: z.number().int().positive(), credits: userCredits }),
  },
  'reservation.committed': {
    description: 'A reservation was committed: `credits` were spent, `releasedCredits` of the hold went back.',
    payload: z.object({
      reservationId: uuidSchema,
      consumptionId: uuidSchema,
      actionKey: z.string(),
      quantity: z.number().int().min(0),
      credits: userCredits,
      releasedCredits: userCredits,
    }),
  },
  'reservation.released': {
    description: 'A reservation was released by its caller (`released`) or at its deadline (`expired`); every held credit went back.',
    payload: z.object({ reservationId: uuidSchema, actionKey: z.string(), credits: userCredits, outcome: z.enum(['released', 'expired']) }),
  },
  'reservation.refunded': {
    description: 'Credits of a committed consumption (of a reservation or a deduct) were refunded to the user.',
    payload: z.object({
      refundId: uuidSchema,
      consumptionId: uuidSchema,
      reservationId: uuidSchema.nullable(),
      credits: userCredits,
      reason: z.string(),
    }),
  },
  'balance.low': {
    description: 'The user\'s available credits fell below the threshold (BALANCE_LOW_THRESHOLD). Once per fall: not again until the balance has been back at or above it; a balance that never was at or above it (a new user granted less) has not fallen.',
    payload: z.object({ availableCredits: userCredits, threshold: userCredits }),
  },
  'top_up.failed': {
    description: "A refill gave up: every off-session charge of the dunning schedule (1 hour, 1 day, 3 days) was refused (`reason` payment_declined), the customer did not complete a payment the bank wanted them present for (action_abandoned), the user has no usable saved payment method (no_payment_method), or the purchase was refused (its error code). The refill's monthly slot was given back. A refill started by a rule (threshold or interval) pauses the rule with the same reason (`rulePaused`) until the user resumes it; a manual top-up pauses nothing.",
    payload: z.object({
      ruleId: z.uuid().nullable(),
      refillId: z.string(),
      orderId: z.string().nullable(),
      reason: z.string().optional(),
      rulePaused: z.boolean().optional(),
      trigger: z.enum(['threshold', 'manual', 'interval']).optional(),
    }),
  },
  'top_up.requires_action': {
    description: 'A refill\'s off-session charge needs the customer present (3-D Secure): the refill waits (up to 24 hours) for them to open `actionUrl`, complete the payment, then confirm (POST /v1/me/top-ups/{id}/confirm). Not completed in time, it fails (`top_up.failed`, reason action_abandoned).',
    payload: z.object({ ruleId: z.uuid().nullable(), refillId: z.string(), orderId: z.string().nullable(), actionUrl: z.string(), trigger: z.enum(['threshold', 'manual', 'interval']) }),
  },
  'top_up.succeeded': {
    description: "A refill was paid: the payment was handed to its order, which grants the package's credits once (`credits.granted` follows).",
    payload: z.object({
      ruleId: z.uuid().nullable(),
      refillId: z.string(),
      orderId: z.string().nullable(),
      amountMinor: z.number().int().min(0),
      currency: currencyCodeSchema,
      trigger: z.enum(['threshold', 'manual', 'interval']),
    }),
  },
  'action_price.changed': {
    description: 'An action price was created or changed (no subject user).',
    payload: z.object({
      actionKey: z.string(),
      before: z.object({ name: z.string(), creditsPerUnit: userCredits, status: z.string() }).nullable(),
      after: z.object({ name: z.string(), creditsPerUnit: userCredits, status: z.string() }),
    }),
  },
  'order.paid': {
    description: 'An order was paid (emitted by orders/).',
    payload: z.object({
      orderId: uuidSchema,
      packageCode: z.string(),
      amountMinor: z.number().int().min(0),
      currency: currencyCodeSchema,
      paidAt: isoTime,
    }),
  },
  'subscription.provisioned': {
    description: 'A paid order became a subscription and its first grant (emitted by orders/).',
    payload: z.object({
      subscriptionId: uuidSchema,
      orderId: uuidSchema,
      packageCode: z.string(),
      grantId: uuidSchema,
      currentPeriodEnd: isoTime.nullable(),
    }),
  },
  'subscription.renewed': {
    description: 'A subscription renewed: a new period and its grant (emitted by orders/).',
    payload: z.object({
      subscriptionId: uuidSchema,
      orderId: uuidSchema,
      packageCode: z.string(),
      grantId: uuidSchema,
      currentPeriodEnd: isoTime.nullable(),
    }),
  },
  'order.refunded': {
    description: 'An order was refunded, in full or in part (emitted by orders/).',
    payload: z.object({
      orderId: uuidSchema,
      amountMinor: z.number().int().min(0),
      currency: currencyCodeSchema,
      reason: z.string().nullable(),
      revokedGrantIds: z.array(uuidSchema),
    }),
  },
  'invoice.issued': {
    description: 'An invoice was issued for a paid order, in the transaction that recorded the payment (emitted by invoices/). `totalMinor` equals the payment.',
    payload: z.object({
      invoiceId: z.uuid(),
      number: z.string(),
      orderId: z.uuid(),
      totalMinor: z.number().int().min(0),
      taxMinor: z.number().int().min(0),
      currency: z.string().regex(/^[A-Z]{3}$/),
      issuedAt: isoTime,
    }),
  },
  'credit_note.issued': {
    description: "A credit note was issued for a settled refund against the order's invoice (emitted by invoices/).",
    payload: z.object({
      creditNoteId: z.uuid(),
      number: z.string(),
      invoiceId: z.uuid(),
      orderId: z.uuid(),
      amountMinor: z.number().int().min(1),
      currency: z.string().regex(/^[A-Z]{3}$/),
      issuedAt: isoTime,
    }),
  },
  'inspection.findings': {
    description: 'The daily inspection found something (no subject user): the report id and the count per finding kind. Emitted by lifecycle/ only when a run finds at least one.',
    payload: z.object({ reportId: uuidSchema, findings: z.number().int().min(1), byKind: z.record(z.string(), z.number().int().min(0)) }),
  },
  'package.expiring_soon': {
    description: 'A grant with credits left expires soon (emitted by the package lifecycle).',
    payload: z.object({ grantId: uuidSchema, packageCode: z.string().nullable(), expiresAt: isoTime, remainingCredits: userCredits }),
  },
  'package.expired': {
    description: 'A grant expired; its unspent credits lapsed (emitted by the package lifecycle).',
    payload: z.object({ grantId: uuidSchema, packageCode: z.string().nullable(), expiredAt: isoTime, lapsedCredits: userCredits }),
  },
  'webhook_endpoint.disabled': {
    description: 'A webhook endpoint was disabled: it answered 410 Gone, or it failed for longer than WEBHOOK_DISABLE_AFTER_HOURS (no subject user).',
    payload: z.object({ endpointId: uuidSchema, reason: z.enum(['gone', 'failing']), failingSince: isoTime.nullable() }),
  },
  'webhook.test': {
    description: 'Sent by POST /v1/admin/webhook-endpoints/:endpointId/test to that endpoint only (no subject user).',
    payload: z.object({ endpointId: uuidSchema, message: z.string() }),
  },
} as const satisfies Record<string, { description: string; payload: z.ZodType }>;

export type EventType = keyof typeof EVENT_TYPES;
export type EventPayload<T extends EventType> = z.infer<(typeof EVENT_TYPES)[T]['payload']>;

export const EVENT_TYPE_NAMES = Object.keys(EVENT_TYPES) as [EventType, ...EventType[]];

/** Parses a stored or incoming payload against its type's schema (throws a ZodError when it does not fit). */
export function parsePayload<T extends EventType>(type: T, payload: unknown): EventPayload<T> {
  return EVENT_TYPES[type].payload.parse(payload) as EventPayload<T>;
}
