/**
 * The tax an order fixes at placement and the tax its credit notes take back, pure and fast
 * (modules/invoices/rules/tax.ts): with tax on top (`exclusive`) the total is the subtotal plus the
 * per-line rounded tax, in the currency's minor unit (JPY: whole yen); with tax included the total is
 * the subtotal; the invoice of the order totals the charge; credit notes never take back more tax or
 * net than the invoice holds, never a negative amount, and all of them reach its tax exactly.
 */
import fc from 'fast-check';
import { creditNoteTax, lineOfOrderTax, orderTax, totalsOf, type TaxMode } from '../../modules/invoices/rules/tax';

const mode = fc.constantFrom<TaxMode>('inclusive', 'exclusive');
const rate = fc.integer({ min: 0, max: 100_000 });
const subtotal = fc.integer({ min: 0, max: 100_000_000 });

describe('the tax an order fixes at placement (orderTax)', () => {
  it('exclusive: tax on top, rounded half away from zero on the line, in minor units', () => {
    // EUR 8.00 at 19 %: 152 cents; USD 19.99 at 8.25 %: 164.9175 -> 165; JPY ¥1,980 at 10 %: ¥198.
    expect(orderTax(800, 1900, 'exclusive')).toEqual({ mode: 'exclusive', rateBasisPoints: 1900, subtotalMinor: 800, taxMinor: 152, totalMinor: 952 });
    expect(orderTax(1999, 825, 'exclusive')).toMatchObject({ taxMinor: 165, totalMinor: 2164 });
    expect(orderTax(1980, 1000, 'exclusive')).toMatchObject({ taxMinor: 198, totalMinor: 2178 });
    // ¥1,584 at 10 % = 158.4 -> 158; ¥1,585 -> 158.5 -> 159 (half away from zero).
    expect(orderTax(1584, 1000, 'exclusive').taxMinor).toBe(158);
    expect(orderTax(1585, 1000, 'exclusive').taxMinor).toBe(159);
    expect(orderTax(0, 1900, 'exclusive')).toMatchObject({ taxMinor: 0, totalMinor: 0 });
  });

  it('inclusive: the total is the subtotal, the tax is the part of it that is tax', () => {
    expect(orderTax(800, 1900, 'inclusive')).toEqual({ mode: 'inclusive', rateBasisPoints: 1900, subtotalMinor: 800, taxMinor: 128, totalMinor: 800 });
  });

  it('for any subtotal and rate: total = subtotal + tax (exclusive) or subtotal (inclusive), tax within half a unit, never negative', () => {
    fc.assert(
      fc.property(subtotal, rate, mode, (amount, basisPoints, taxMode) => {
        const fixed = orderTax(amount, basisPoints, taxMode);
        expect(fixed.taxMinor).toBeGreaterThanOrEqual(0);
        expect(fixed.totalMinor).toBeGreaterThanOrEqual(fixed.subtotalMinor);
        if (taxMode === 'exclusive') {
          expect(fixed.totalMinor).toBe(amount + fixed.taxMinor);
          // |tax − amount × r / 10000| ≤ 1/2, in integers.
          const twiceError = 2n * (BigInt(fixed.taxMinor) * 10_000n - BigInt(amount) * BigInt(basisPoints));
          expect(twiceError <= 10_000n && -twiceError <= 10_000n).toBe(true);
        } else {
          expect(fixed.totalMinor).toBe(amount);
          expect(fixed.taxMinor).toBeLessThanOrEqual(amount);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("the invoice line of an order totals exactly the order's total, net = subtotal when tax is on top", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(subtotal, rate), { minLength: 1, maxLength: 6 }), mode, (orders, taxMode) => {
        const fixed = orders.map(([amount, basisPoints]) => orderTax(amount, basisPoints, taxMode));
        const lines = fixed.map(lineOfOrderTax);
        const totals = totalsOf(lines);
        expect(totals.totalMinor).toBe(fixed.reduce((sum, order) => sum + order.totalMinor, 0));
        expect(totals.netMinor + totals.taxMinor).toBe(totals.totalMinor);
        lines.forEach((line, index) => {
          expect(line.taxMinor).toBe(fixed[index]!.taxMinor);
          if (taxMode === 'exclusive') expect(line.netMinor).toBe(fixed[index]!.subtotalMinor);
          expect(line.netMinor).toBeGreaterThanOrEqual(0);
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a negative or fractional subtotal and an out-of-range rate', () => {
    expect(() => orderTax(-1, 1900, 'exclusive')).toThrow(RangeError);
    expect(() => orderTax(1.5, 1900, 'exclusive')).toThrow(RangeError);
    expect(() => orderTax(100, 100_001, 'exclusive')).toThrow(RangeError);
  });
});

describe('the tax of credit notes (creditNoteTax)', () => {
  it('prorates the line tax: half of EUR 9.52 (tax 1.52) takes back 0.76; the rest takes the rest', () => {
    const line = { grossMinor: 952, taxMinor: 152, creditedMinor: 0, creditedTaxMinor: 0 };
    expect(creditNoteTax(line, 476)).toEqual({ netMinor: 400, taxMinor: 76 });
    expect(creditNoteTax({ ...line, creditedMinor: 476, creditedTaxMinor: 76 }, 476)).toEqual({ netMinor: 400, taxMinor: 76 });
    expect(creditNoteTax(line, 952)).toEqual({ netMinor: 800, taxMinor: 152 });
  });

  it('any sequence of refunds: each note net + tax = its amount, none negative, the sums never pass the invoice and reach it when all is credited', () => {
    const invoiceLine = fc
      .tuple(fc.integer({ min: 1, max: 10_000_000 }), rate)
      .map(([amount, basisPoints]) => lineOfOrderTax(orderTax(amount, basisPoints, 'exclusive')))
      .filter((line) => line.grossMinor > 0);
    fc.assert(
      fc.property(invoiceLine, fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 10 }), (line, wishes) => {
        let creditedMinor = 0;
        let creditedTaxMinor = 0;
        let creditedNetMinor = 0;
        // Each wish is cut to what is left; a last note credits the rest.
        const amounts = wishes.map((wish) => wish).concat([Number.MAX_SAFE_INTEGER]);
        for (const wish of amounts) {
          const left = line.grossMinor - creditedMinor;
          if (left === 0) break;
          const amount = Math.min(wish, left);
          const note = creditNoteTax({ grossMinor: line.grossMinor, taxMinor: line.taxMinor, creditedMinor, creditedTaxMinor }, amount);
          expect(note.netMinor + note.taxMinor).toBe(amount);
          expect(note.taxMinor).toBeGreaterThanOrEqual(0);
          expect(note.netMinor).toBeGreaterThanOrEqual(0);
          creditedMinor += amount;
          creditedTaxMinor += note.taxMinor;
          creditedNetMinor += note.netMinor;
          expect(creditedTaxMinor).toBeLessThanOrEqual(line.taxMinor);
          expect(creditedNetMinor).toBeLessThanOrEqual(line.netMinor);
        }
        expect(creditedMinor).toBe(line.grossMinor);
        expect(creditedTaxMinor).toBe(line.taxMinor);
        expect(creditedNetMinor).toBe(line.netMinor);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a credit of nothing or of more than is left', () => {
    const line = { grossMinor: 952, taxMinor: 152, creditedMinor: 500, creditedTaxMinor: 80 };
    expect(() => creditNoteTax(line, 0)).toThrow(RangeError);
    expect(() => creditNoteTax(line, 453)).toThrow(RangeError);
  });
});
