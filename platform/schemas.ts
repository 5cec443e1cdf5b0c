/**
 * The zod schemas of shapes many modules share: one definition each, so a code, a currency or an id
 * is accepted by the same rule at every door (requests, webhooks, stored events, views). A feature
 * adds its own description or example with `.openapi(...)`, and narrows further (e.g. to the
 * currencies it sells in) with `.refine`, never by writing the pattern again.
 */
import { z } from './zod';

/** A code an admin gives a channel, package or seller: lower_snake_case or kebab-case, 1-64 characters. */
export const CODE_PATTERN = /^[a-z0-9]+(?:[_-][a-z0-9]+)*$/;
export const codeSchema = z.string().min(1).max(64).regex(CODE_PATTERN, 'lower_snake_case or kebab-case');

/** An ISO 4217 currency code as the API and the stored events write it: three upper-case letters. */
export const CURRENCY_PATTERN = /^[A-Z]{3}$/;
export const currencyCodeSchema = z.string().regex(CURRENCY_PATTERN, 'ISO 4217 code in upper case');

/** A promo code as customers type it: upper-case letters, digits, _ and -, 3-40 characters. */
export const couponCodeSchema = z.string().min(3).max(40).regex(/^[A-Z0-9][A-Z0-9_-]*$/, 'upper case letters, digits, _ and -');

/** A UUID (any version), as every id the service makes. */
export const uuidSchema = z.uuid();

/** Whether a text is a UUID: for ids that arrive from outside (a gateway's order number) before a lookup by key. */
export function isUuid(value: string): boolean {
  return uuidSchema.safeParse(value).success;
}

/**
 * A whole number from the environment, within [min, max], `fallback` when unset: an empty or fractional
 * value is an error naming the variable, not 0 or a rounding.
 */
export function envWholeNumber(options: { min: number; max?: number; default: number }) {
  const range = z.number().int().min(options.min).max(options.max ?? Number.MAX_SAFE_INTEGER);
  return z
    .string()
    .regex(options.min < 0 ? /^\s*-?\d+\s*$/ : /^\s*\d+\s*$/, 'must be a whole number')
    .transform(Number)
    .pipe(range)
    .optional()
    .transform((value) => value ?? options.default);
}
