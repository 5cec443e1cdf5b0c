/**
 * Invoice rules, pure and fast: per-line tax in both modes adds up to exactly what was charged, for
 * amounts, rates and currencies (USD, EUR, JPY); rounding is within half a minor unit per line; numbers
 * are formatted per series; the invoices configuration is validated.
 */
import fc from 'fast-check';
import { formatMinor } from '../../platform/currencies';
import { rateForCountry, taxLine, totalsOf, type TaxMode } from '../../modules/invoices/rules/tax';
import { counterKey, documentNumber, seriesFor } from '../../modules/invoices/rules/numbering';
import { parseInvoicesConfig } from '../../modules/invoices';

const SEED = 20270120;
const mode = fc.constantFrom<TaxMode>('inclusive', 'exclusive');
const currency = fc.constantFrom('USD', 'EUR', 'JPY');
const rate = fc.integer({ min: 0, max: 100_000 });
const amount = fc.integer({ min: 0, max: 2_147_483_647 });

describe('tax per line (modules/invoices/rules/tax.ts)', () => {
  it('splits 19 % out of a gross, rounding half away from zero', () => {
    // 799 × 1900 / 11900 = 127.57 -> 128
    expect(taxLine(799, 1900, 'inclusive')).toEqual({ grossMinor: 799, netMinor: 671, taxMinor: 128, rateBasisPoints: 1900 });
    // 799 / 1.19 = 671.43 -> net 671, tax 128
    expect(taxLine(799, 1900, 'exclusive')).toEqual({ grossMinor: 799, netMinor: 671, taxMinor: 128, rateBasisPoints: 1900 });
    // JPY has no minor unit: 980 at 10 % -> 89.09 -> 89 tax
    expect(taxLine(980, 1000, 'inclusive').taxMinor).toBe(89);
    // the two modes round different sides: 1 × 1000/11000 = 0.09 -> tax 0; net 1/1.1 = 0.909 -> 1, tax 0
    expect(taxLine(5, 1000, 'inclusive')).toMatchObject({ netMinor: 5, taxMinor: 0 });
    expect(taxLine(6, 1000, 'exclusive')).toMatchObject({ netMinor: 5, taxMinor: 1 });
    expect(taxLine(0, 1900, 'inclusive')).toMatchObject({ netMinor: 0, taxMinor: 0 });
  });

  it('net + tax = gross, tax ≥ 0 and within half a minor unit of the exact tax, for any amount, rate and mode', () => {
    fc.assert(
      fc.property(amount, rate, mode, (gross, basisPoints, taxMode) => {
        const line = taxLine(gross, basisPoints, taxMode);
        expect(line.netMinor + line.taxMinor).toBe(gross);
        expect(line.taxMinor).toBeGreaterThanOrEqual(0);
        expect(line.netMinor).toBeGreaterThanOrEqual(0);
        // exact tax = gross × r / (1 + r); in integers, both modes: |tax × (10000 + r) − gross × r| ≤ (10000 + r) / 2
        // (exclusive rounds the net, and tax × d − gross × r = gross × 10000 − net × d).
        const divisor = 10_000n + BigInt(basisPoints);
        const twiceError = 2n * (BigInt(line.taxMinor) * divisor - BigInt(gross) * BigInt(basisPoints));
        expect(twiceError <= divisor && -twiceError <= divisor).toBe(true);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('the invoice total equals the amount charged in USD, EUR and JPY, summing rounded lines', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000_000 }), { minLength: 1, maxLength: 8 }), rate, mode, currency, (grosses, basisPoints, taxMode, code) => {
        const lines = grosses.map((gross) => taxLine(gross, basisPoints, taxMode));
        const totals = totalsOf(lines);
        const charged = grosses.reduce((a, b) => a + b, 0);
        expect(totals.totalMinor).toBe(charged);
        expect(totals.netMinor + totals.taxMinor).toBe(charged);
        expect(formatMinor(totals.totalMinor, code)).toBe(formatMinor(charged, code));
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it('refuses a negative or fractional amount and an out-of-range rate', () => {
    expect(() => taxLine(-1, 1900, 'inclusive')).toThrow(RangeError);
    expect(() => taxLine(1.5, 1900, 'inclusive')).toThrow(RangeError);
    expect(() => taxLine(100, -1, 'inclusive')).toThrow(RangeError);
  });

  it('takes the rate of the buyer country, else the default', () => {
    expect(rateForCountry('DE', { DE: 1900 }, 500)).toBe(1900);
    expect(rateForCountry('US', { DE: 1900 }, 500)).toBe(500);
    expect(rateForCountry(null, { DE: 1900 }, 0)).toBe(0);
  });
});

describe('document numbers (modules/invoices/rules/numbering.ts)', () => {
  it('are <prefix>-<year>-<000123> per UTC year, or <prefix>-<000123> in one series', () => {
    const newYearEve = new Date('2026-12-31T23:30:00-02:00'); // 2027 in UTC
    expect(documentNumber(seriesFor({ prefix: 'DB', perYear: true }, newYearEve), 123)).toBe('DB-2027-000123');
    expect(documentNumber(seriesFor({ prefix: 'DB', perYear: false }, newYearEve), 7)).toBe('DB-000007');
    expect(counterKey('invoice', 'DB-2027')).not.toBe(counterKey('credit_note', 'DB-2027'));
  });
});

describe('invoices configuration (modules/invoices/config.ts)', () => {
  it('reads a rate table, mode and prefixes, with defaults', () => {
    const config = parseInvoicesConfig({ TAX_RATES: 'DE:1900, FR:2000,JP:1000', TAX_PRICES: 'exclusive', INVOICE_NUMBER_PREFIX: 'INV' });
    expect(config.taxRates).toEqual({ DE: 1900, FR: 2000, JP: 1000 });
    expect(config.taxMode).toBe('exclusive');
    expect(config.invoicePrefix).toBe('INV');
    expect(parseInvoicesConfig({})).toMatchObject({ taxMode: 'inclusive', taxRates: {}, defaultRateBasisPoints: 0, invoicePrefix: 'DB', creditNotePrefix: 'CN', perYear: true });
  });

  it('refuses a malformed rate table, mode or prefix', () => {
    expect(() => parseInvoicesConfig({ TAX_RATES: 'de:19' })).toThrow();
    expect(() => parseInvoicesConfig({ TAX_RATES: 'DE:abc' })).toThrow();
    expect(() => parseInvoicesConfig({ TAX_PRICES: 'gross' })).toThrow();
    expect(() => parseInvoicesConfig({ INVOICE_NUMBER_PREFIX: 'db-x' })).toThrow();
  });
});
