/** How amounts, instants and days are shown. Money is integer minor units, as the API sends it. */

const currencyFormats = new Map<string, Intl.NumberFormat>();

function currencyFormat(currency: string): Intl.NumberFormat {
  let format = currencyFormats.get(currency);
  if (!format) {
    try {
      format = new Intl.NumberFormat('en', { style: 'currency', currency });
    } catch {
      format = new Intl.NumberFormat('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    }
    currencyFormats.set(currency, format);
  }
  return format;
}

/** Minor units in the currency's own units: 999 USD is $9.99, 2533 JPY is ¥2,533, 3 KWD is KWD 0.003. */
export function formatMoney(amountMinor: number, currency: string): string {
  const format = currencyFormat(currency);
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amountMinor / 10 ** digits);
}

const instantFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatInstant(iso: string | null | undefined): string {
  if (!iso) return '—';
  return instantFormat.format(new Date(iso));
}

/** `YYYY-MM-DD` of an instant, in UTC (the reports' days are UTC days). */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The start of a UTC day, as the API's `from` (inclusive). */
export function dayStart(day: string): string {
  return `${day}T00:00:00Z`;
}

/** The start of the UTC day after `day`, as the API's `to` (exclusive): the period includes `day`. */
export function dayAfter(day: string): string {
  const next = new Date(`${day}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString().replace('.000Z', 'Z');
}

export function daysAgo(days: number, from = new Date()): string {
  const date = new Date(from);
  date.setUTCDate(date.getUTCDate() - days);
  return utcDay(date);
}

/** A `datetime-local` input's value as an instant in the browser's zone. */
export function localInputToIso(value: string): string {
  return new Date(value).toISOString();
}

/** An instant as a `datetime-local` input's value, in the browser's zone. */
export function isoToLocalInput(iso: string): string {
  const date = new Date(iso);
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}
