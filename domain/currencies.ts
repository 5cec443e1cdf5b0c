/**
 * ISO 4217 currencies the billing sells in, each with its minor-unit exponent (how many decimals a
 * price has: JPY 0, USD 2, KWD 3) and the smallest charge a card gateway accepts in it. Amounts are
 * always integers in the currency's minor unit and are never converted from one currency to another.
 *
 * Minimum charges follow Stripe's published minimums where it lists one (USD 0.50, EUR 0.50, GBP 0.30,
 * JPY 50, …); for the others the table uses about the same value (KWD 0.150). A discount never takes a
 * charge below this (domain/discount.ts).
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

/** "12.345 KWD" from 12345 minor units: for messages and the README, never for arithmetic. */
export function formatMinor(amountMinor: number, code: string): string {
  const exponent = currencyInfo(code)?.exponent ?? 2;
  if (exponent === 0) return `${amountMinor} ${code}`;
  const sign = amountMinor < 0 ? '-' : '';
  const abs = Math.abs(amountMinor).toString().padStart(exponent + 1, '0');
  return `${sign}${abs.slice(0, -exponent)}.${abs.slice(-exponent)} ${code}`;
}
