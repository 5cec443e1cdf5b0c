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

/** The rate for a buyer's country (ISO 3166-1 alpha-2), else the default. */
export function rateForCountry(country: string | null | undefined, rates: Readonly<Record<string, number>>, defaultRate: number): number {
  return country && rates[country] !== undefined ? rates[country]! : defaultRate;
}
