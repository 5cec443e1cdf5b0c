/**
 * What the service reads from a payment notification, as zod schemas. They are applied only after the
 * signature verified: a body nobody signed is never read further than its signature check needs. A
 * notification that verifies but cannot be read is refused with VALIDATION_FAILED (field paths under
 * `body`), never answered with a 5xx; which ones are refused and which acknowledged is in docs/api.md
 * ("Payment webhooks"). Pure: no I/O.
 */
import { z } from '../../platform/zod';
import { BillingError } from '../../platform/errors';
import { firstUnstorablePart } from '../../platform/storable-json';
import { currencyCodeSchema } from '../../platform/schemas';

/** The Stripe event types that move an order; every other type is recorded and acknowledged. */
const HANDLED_STRIPE_TYPES = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
] as const;
export type HandledStripeType = (typeof HANDLED_STRIPE_TYPES)[number];

export function isHandledStripeType(type: string): type is HandledStripeType {
  return (HANDLED_STRIPE_TYPES as readonly string[]).includes(type);
}

/** Ids become primary-key text: bounded, so no sender can push an index entry past PostgreSQL's limit. */
const identifier = z.string().min(1).max(255);

/** Every Stripe event: the envelope is read for all types (its id records it once). */
export const stripeEventSchema = z.object({
  id: identifier,
  type: identifier,
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
});
export type StripeEvent = z.infer<typeof stripeEventSchema>;

/** `data.object` of the handled checkout.session.* types: what a payment signal is made of. */
export const checkoutSessionSchema = z.object({
  id: identifier,
  payment_status: z.string(),
  amount_total: z.int().min(0),
  currency: z.string().regex(/^[A-Za-z]{3}$/, 'an ISO 4217 currency code'),
  // The payment's id when Stripe has one (a string, or the object when expanded); else the session's.
  payment_intent: z.union([identifier, z.object({ id: identifier })]).nullish(),
  // Where the order id comes from: metadata.orderId first, then client_reference_id.
  metadata: z.object({ orderId: z.string().optional() }).nullish(),
  client_reference_id: z.string().nullish(),
});
export type CheckoutSession = z.infer<typeof checkoutSessionSchema>;

/** An id Stripe sends as a string, or as the object when expanded. */
const reference = z.union([identifier, z.object({ id: identifier })]).nullish();
const setupMetadata = z.object({ channel: z.string().max(64).optional() }).nullish();

/** `data.object` of checkout.session.completed in `setup` mode: the SetupIntent it completed, no payment. */
export const setupSessionSchema = z.object({
  id: identifier,
  mode: z.literal('setup'),
  setup_intent: reference,
  customer: reference,
  metadata: setupMetadata,
});

/** `data.object` of setup_intent.succeeded: the saved PaymentMethod on the Customer. */
export const setupIntentSchema = z.object({
  id: identifier,
  customer: reference,
  payment_method: reference,
  metadata: setupMetadata,
});

/** The id of a string-or-expanded reference. */
export function referenceId(value: string | { id: string } | null | undefined): string | null {
  return typeof value === 'string' ? value : (value?.id ?? null);
}

/** The order an event of another type names (charge.refunded carries it in metadata), if it names one readably. */
const namedOrderSchema = z.object({ metadata: z.object({ orderId: z.string() }) });

export function namedOrderId(object: Record<string, unknown>): string | null {
  const parsed = namedOrderSchema.safeParse(object);
  return parsed.success ? parsed.data.metadata.orderId : null;
}

/**
 * A gateway callback (docs/payments-gateway.md), once its signature verified. Whether the order,
 * merchant, amount and currency match is checked against the order afterwards (PAYMENT_MISMATCH).
 */
export const gatewayCallbackSchema = z.object({
  merchant_id: z.string().min(1),
  out_trade_no: z.string().min(1),
  // With the status it names the event (`trade_no:status`), a primary key: bounded.
  trade_no: z.string().min(1).max(128),
  status: z.string().min(1).max(64),
  amount: z.string().regex(/^\d{1,15}$/, 'an integer amount in minor units'),
  currency: currencyCodeSchema,
  timestamp: z.string().regex(/^\d{1,12}$/, 'Unix seconds'),
});

/** Parses `value` or throws VALIDATION_FAILED naming each unreadable field under `body` (and `at`). */
export function readOrRefuse<T extends z.ZodType>(schema: T, value: unknown, what: string, at: string[] = []): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new BillingError('VALIDATION_FAILED', `${what} cannot be read.`, {
    issues: parsed.error.issues.map((issue) => ({ path: ['body', ...at, ...issue.path.map(String)].join('.'), message: issue.message })),
  });
}

/** Deeper than any provider's event (Stripe's are under 10 levels); bounds the work of storing one as jsonb. */
export const MAX_EVENT_DEPTH = 64;

/**
 * Refuses (VALIDATION_FAILED) a notification the database could not store as received
 * (platform/storable-json.ts): a text with NUL or an unpaired surrogate, or nesting deeper than MAX_EVENT_DEPTH.
 */
export function refuseUnstorable(value: unknown, what: string): void {
  const unstorable = firstUnstorablePart(value, MAX_EVENT_DEPTH);
  if (unstorable) {
    throw new BillingError('VALIDATION_FAILED', `${what} cannot be stored.`, {
      issues: [{ path: ['body', ...unstorable.path].join('.'), message: unstorable.message }],
    });
  }
}

const jsonCallbackSchema = z.record(
  z.string(),
  z.union([z.string(), z.number().transform(String), z.boolean().transform(String)], { error: 'must be a text, number or boolean' }),
);

/**
 * A gateway callback's parameters as the signature covers them: a form, or a JSON object whose values
 * are text (numbers and booleans are read as their text, as the gateway signed them). A nested value,
 * a list or null cannot be signed under the scheme and is refused.
 */
export function gatewayParams(raw: Buffer, contentType: string | undefined): Record<string, string> {
  const text = raw.toString('utf8');
  let params: Record<string, string>;
  if ((contentType ?? '').includes('application/json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new BillingError('VALIDATION_FAILED', 'Callback body is not valid JSON.', { issues: [{ path: 'body', message: 'invalid JSON' }] });
    }
    params = readOrRefuse(jsonCallbackSchema, parsed, 'The callback');
  } else {
    params = Object.fromEntries(new URLSearchParams(text));
  }
  refuseUnstorable(params, 'The callback');
  return params;
}
