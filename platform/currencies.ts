/**
 * ISO 4217 currencies the billing sells in, each with its minor-unit exponent (how many decimals a
 * price has: JPY 0, USD 2, KWD 3) and the smallest charge a card gateway accepts in it. Amounts are
 * always integers in the currency's minor unit and are never converted from one currency to another.
 *
 * Minimum charges follow Stripe's published minimums where it lists one (USD 0.50, EUR 0.50, GBP 0.30,
 * JPY 50, …); for the others the table uses about the same value (KWD 0.150). A discount never takes a
 * charge below this (modules/coupons/rules/discount.ts).
 */
export interface CurrencyInfo {
  code: string;
  exponent: 0 | 2 | 3;
  minimumChargeMinor: number;
}

const TABLE: CurrencyInfo[] = [
  { code: 'USD', exponent: 2, minimumChargeMinor: 50 },
  { code: 'EUR', exponent: 2, minimumChargeMinor: 50 },
  { code: 'GBP', exponent: 2, minimumChargeMinor: 30 },
  { code: 'CHF', exponent: 2, minimumChargeMinor: 50 },
  { code: 'CAD', exponent: 2, minimumChargeMinor: 50 },
  { code: 'AUD', exponent: 2, minimumChargeMinor: 50 },
  { code: 'CNY', exponent: 2, minimumChargeMinor: 400 },
  { code: 'HKD', exponent: 2, minimumChargeMinor: 400 },
  { code: 'SGD', exponent: 2, minimumChargeMinor: 50 },
  { code: 'INR', exponent: 2, minimumChargeMinor: 5000 },
  { code: 'JPY', exponent: 0, minimumChargeMinor: 50 },
  { code: 'KRW', exponent: 0, minimumChargeMinor: 700 },
  { code: 'KWD', exponent: 3, minimumChargeMinor: 150 },
  { code: 'BHD', exponent: 3, minimumChargeMinor: 200 },
  { code: 'OMR', exponent: 3, minimumChargeMinor: 200 },
];

export const CURRENCIES: ReadonlyMap<string, CurrencyInfo> = new Map(TABLE.map((info) => [info.code, info]));

export function currencyInfo(code: string): CurrencyInfo | undefined {
  return CURRENCIES.get(code);
}

export function isKnownCurrency(code: string): boolean {
  return CURRENCIES.has(code);
}

/**
 * The one way an amount is shown to people (notices, emails, messages), in the currency's own units:
 * JPY 2533 -> "¥2,533", USD 2533 -> "$25.33", KWD 12345 -> "KWD 12.345" (a no-break space after a
 * code). The decimals are the table's exponent (ISO 4217); a well-formed code not in the table gets
 * Intl's (CLDR's) digits for it. English (en-US) symbols and grouping, as the templates are English.
 * Never for arithmetic. Exact for every |amountMinor| < 2^52 (the division by 10^exponent is then
 * within half a minor unit); stored amounts are 32-bit.
 */
export function formatMinor(amountMinor: number, code: string): string {
  const { format, exponent } = moneyFormat(code);
  return format.format(amountMinor / 10 ** exponent);
}

const MONEY_FORMATS = new Map<string, { format: Intl.NumberFormat; exponent: number }>();

function moneyFormat(code: string): { format: Intl.NumberFormat; exponent: number } {
  let known = MONEY_FORMATS.get(code);
  if (!known) {
    const exponent = currencyInfo(code)?.exponent ?? new Intl.NumberFormat('en-US', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits!;
    const format = new Intl.NumberFormat('en-US', { style: 'currency', currency: code, minimumFractionDigits: exponent, maximumFractionDigits: exponent });
    known = { format, exponent };
    MONEY_FORMATS.set(code, known);
  }
  return known;
}
