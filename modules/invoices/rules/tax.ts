/**
 * Tax on an invoice, per line, in integer minor units. Pure and workflow-safe.
 *
 * What was charged is the truth: every line's gross is the amount the buyer paid for it, so the
 * invoice total equals the payment in every mode. The mode only decides which side of the split
 * absorbs the rounding:
 * - `inclusive` (prices include tax): tax = round(gross × r / (1 + r)), net = gross − tax.
 * - `exclusive` (prices are net, tax on top): net = round(gross / (1 + r)), tax = gross − net.
 * Rounding is half away from zero, once per line, never on the total; the total is the sum of the
 * lines. A rate is in basis points (1900 = 19 %). A future tax engine replaces `taxLine` alone.
 */
export type TaxMode = 'inclusive' | 'exclusive';

export interface TaxedLine {
  grossMinor: number;
  netMinor: number;
  taxMinor: number;
  rateBasisPoints: number;
}

const BASIS = 10_000;

/** a / b rounded half away from zero, exactly (integers only, no floating point). */
function divideRounded(a: bigint, b: bigint): bigint {
  const quotient = a / b;
  const remainder = a % b;
  return remainder * 2n >= b ? quotient + 1n : quotient;
}

/** Splits one line's gross (≥ 0) into net and tax at `rateBasisPoints` (0..10000 × 10). */
export function taxLine(grossMinor: number, rateBasisPoints: number, mode: TaxMode): TaxedLine {
  if (!Number.isSafeInteger(grossMinor) || grossMinor < 0) throw new RangeError(`gross must be a whole number ≥ 0, got ${grossMinor}`);
  if (!Number.isInteger(rateBasisPoints) || rateBasisPoints < 0 || rateBasisPoints > 100_000) throw new RangeError(`rate must be 0..100000 basis points, got ${rateBasisPoints}`);
  const gross = BigInt(grossMinor);
  const rate = BigInt(rateBasisPoints);
  const divisor = BigInt(BASIS) + rate;
  if (mode === 'inclusive') {
    const tax = Number(divideRounded(gross * rate, divisor));
    return { grossMinor, netMinor: grossMinor - tax, taxMinor: tax, rateBasisPoints };
  }
  const net = Number(divideRounded(gross * BigInt(BASIS), divisor));
  return { grossMinor, netMinor: net, taxMinor: grossMinor - net, rateBasisPoints };
}

export interface InvoiceTotals {
  netMinor: number;
  taxMinor: number;
  totalMinor: number;
}

/** The totals are sums of the lines (never recomputed from a total), so they match what was charged. */
export function totalsOf(lines: readonly TaxedLine[]): InvoiceTotals {
  return lines.reduce(
    (sum, line) => ({ netMinor: sum.netMinor + line.netMinor, taxMinor: sum.taxMinor + line.taxMinor, totalMinor: sum.totalMinor + line.grossMinor }),
    { netMinor: 0, taxMinor: 0, totalMinor: 0 },
  );
}

/**
 * What an order charges, fixed when it is placed. `subtotalMinor` is the price after the coupon (the
 * line's pre-tax amount in `exclusive` mode, its tax-included amount in `inclusive` mode).
 * - `exclusive`: tax = round(subtotal × r), rounded half away from zero once on the line, in the
 *   currency's minor unit (JPY: whole yen); total = subtotal + tax is what every channel is asked for.
 * - `inclusive`: the total is the subtotal, unchanged; tax is the part of it that is tax
 *   (round(subtotal × r / (1 + r)), as on the invoice).
 */
export interface OrderTax {
  mode: TaxMode;
  rateBasisPoints: number;
  subtotalMinor: number;
  taxMinor: number;
  totalMinor: number;
}

export function orderTax(subtotalMinor: number, rateBasisPoints: number, mode: TaxMode): OrderTax {
  if (!Number.isSafeInteger(subtotalMinor) || subtotalMinor < 0) throw new RangeError(`subtotal must be a whole number ≥ 0, got ${subtotalMinor}`);
  if (!Number.isInteger(rateBasisPoints) || rateBasisPoints < 0 || rateBasisPoints > 100_000) throw new RangeError(`rate must be 0..100000 basis points, got ${rateBasisPoints}`);
  if (mode === 'inclusive') {
    const { taxMinor } = taxLine(subtotalMinor, rateBasisPoints, 'inclusive');
    return { mode, rateBasisPoints, subtotalMinor, taxMinor, totalMinor: subtotalMinor };
  }
  const taxMinor = Number(divideRounded(BigInt(subtotalMinor) * BigInt(rateBasisPoints), BigInt(BASIS)));
  return { mode, rateBasisPoints, subtotalMinor, taxMinor, totalMinor: subtotalMinor + taxMinor };
}

/** The line of an invoice for an order whose tax was fixed at placement: what was charged, split as the order said. */
export function lineOfOrderTax(tax: OrderTax): TaxedLine {
  return { grossMinor: tax.totalMinor, netMinor: tax.totalMinor - tax.taxMinor, taxMinor: tax.taxMinor, rateBasisPoints: tax.rateBasisPoints };
}

/** What an invoice line holds, and what its earlier credit notes already took back of it. */
export interface CreditableLine {
  grossMinor: number;
  taxMinor: number;
  creditedMinor: number;
  creditedTaxMinor: number;
}

/**
 * The tax of a credit note of `amountMinor` against one invoice line, prorated: round(tax × amount /
 * gross), half away from zero, then kept within what is left, so the credit notes' tax never adds up
 * to more than the line's and the one that credits the rest takes the rest of the tax exactly (net
 * and tax both reach the invoice's, never beyond, never negative). `amountMinor` must be 1..left.
 */
export function creditNoteTax(line: CreditableLine, amountMinor: number): { netMinor: number; taxMinor: number } {
  const leftMinor = line.grossMinor - line.creditedMinor;
  const leftTaxMinor = line.taxMinor - line.creditedTaxMinor;
  if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0 || amountMinor > leftMinor) throw new RangeError(`credit must be 1..${leftMinor}, got ${amountMinor}`);
  const prorated = line.grossMinor === 0 ? 0 : Number(divideRounded(BigInt(line.taxMinor) * BigInt(amountMinor), BigInt(line.grossMinor)));
  // Within [what must go now so the net left never exceeds the gross left, what is left of the tax].
  const lowest = Math.max(0, leftTaxMinor - (leftMinor - amountMinor));
  const highest = Math.min(amountMinor, leftTaxMinor);
  const taxMinor = Math.min(highest, Math.max(lowest, prorated));
  return { netMinor: amountMinor - taxMinor, taxMinor };
}

/** The rate for a buyer's country (ISO 3166-1 alpha-2), else the default. */
export function rateForCountry(country: string | null | undefined, rates: Readonly<Record<string, number>>, defaultRate: number): number {
  return country && rates[country] !== undefined ? rates[country]! : defaultRate;
}
