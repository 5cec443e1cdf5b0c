/**
 * Commerce rules, pure and fast: discounts with the documented rounding and floor in JPY, USD and
 * KWD; the revenue split adds up for every amount 1..10 000 and after any sequence of partial refunds;
 * coupon refusals in a stable order; reconciliation finds each kind of mismatch.
 */
import fc from 'fast-check';
import { CURRENCIES, formatMinor } from '../../platform/currencies';
import { applyDiscount, couponRefusal, minimumCharge, type CouponFacts } from '../../modules/coupons/rules/discount';
import { reverseSplit, splitRevenue } from '../../modules/sellers/rules/revenue-split';
import { findMismatches, type GatewayRecord, type LocalPayment } from '../../modules/reconciliation/rules/reconciliation';

const SEED = 20261201;

describe('currency table', () => {
  it('knows the exponents: JPY 0, USD 2, KWD 3', () => {
    expect(CURRENCIES.get('JPY')!.exponent).toBe(0);
    expect(CURRENCIES.get('USD')!.exponent).toBe(2);
    expect(CURRENCIES.get('KWD')!.exponent).toBe(3);
    expect(formatMinor(12345, 'KWD')).toBe('KWD\u00a012.345');
    expect(formatMinor(1999, 'USD')).toBe('$19.99');
    expect(formatMinor(980, 'JPY')).toBe('¥980');
  });
});

describe('discount (modules/coupons/rules/discount.ts)', () => {
  it('percent discounts round the discount down in the minor unit of each currency', () => {
    // 15 % of 999 JPY = 149.85 -> 149 off; of 1999 cents = 299.85 -> 299 off; of 12.345 KWD = 1851.75 fils -> 1851 off.
    expect(applyDiscount({ kind: 'percent', percentBasisPoints: 1500 }, 999, 'JPY')).toEqual({ listAmountMinor: 999, discountMinor: 149, amountMinor: 850, limitedByMinimum: false });
    expect(applyDiscount({ kind: 'percent', percentBasisPoints: 1500 }, 1999, 'USD')).toEqual({ listAmountMinor: 1999, discountMinor: 299, amountMinor: 1700, limitedByMinimum: false });
    expect(applyDiscount({ kind: 'percent', percentBasisPoints: 1500 }, 12345, 'KWD')).toEqual({ listAmountMinor: 12345, discountMinor: 1851, amountMinor: 10494, limitedByMinimum: false });
  });

  it('fixed discounts use the amount for the currency, and do not apply without one', () => {
    const terms = { kind: 'fixed' as const, amountsOff: { JPY: 300, USD: 500, KWD: 1500 } };
    expect(applyDiscount(terms, 980, 'JPY')!.amountMinor).toBe(680);
    expect(applyDiscount(terms, 1999, 'USD')!.amountMinor).toBe(1499);
    expect(applyDiscount(terms, 12345, 'KWD')!.amountMinor).toBe(10845);
    expect(applyDiscount(terms, 1999, 'EUR')).toBeNull();
  });

  it('never goes below the minimum charge or zero; a price at or below the minimum keeps its price', () => {
    expect(applyDiscount({ kind: 'percent', percentBasisPoints: 10_000 }, 1999, 'USD')).toEqual({ listAmountMinor: 1999, discountMinor: 1949, amountMinor: 50, limitedByMinimum: true });
    expect(applyDiscount({ kind: 'fixed', amountsOff: { JPY: 5000 } }, 980, 'JPY')!.amountMinor).toBe(50);
    expect(applyDiscount({ kind: 'fixed', amountsOff: { KWD: 100_000 } }, 12345, 'KWD')!.amountMinor).toBe(150);
    expect(applyDiscount({ kind: 'percent', percentBasisPoints: 5000 }, 40, 'USD')!.amountMinor).toBe(40);
    expect(applyDiscount({ kind: 'percent', percentBasisPoints: 5000 }, 0, 'USD')!.amountMinor).toBe(0);
  });

  it('property: discounted amount is within [min(list, minimum), list] and discount + amount = list', () => {
    const currencies = [...CURRENCIES.keys()];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.constantFrom(...currencies),
        fc.oneof(
          fc.integer({ min: 1, max: 10_000 }).map((bp) => ({ kind: 'percent' as const, percentBasisPoints: bp })),
          fc.integer({ min: 1, max: 10_000_000 }).map((off) => ({ kind: 'fixed' as const, amountsOff: Object.fromEntries(currencies.map((c) => [c, off])) })),
        ),
        (list, currency, terms) => {
          const result = applyDiscount(terms, list, currency)!;
          expect(result.discountMinor + result.amountMinor).toBe(list);
          expect(result.discountMinor).toBeGreaterThanOrEqual(0);
          expect(result.amountMinor).toBeGreaterThanOrEqual(Math.min(list, minimumCharge(currency)));
          expect(Number.isInteger(result.amountMinor)).toBe(true);
        },
      ),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

describe('coupon refusals (stable order)', () => {
  const ok: CouponFacts = {
    enabled: true,
    validFrom: null,
    validUntil: null,
    maxRedemptions: 10,
    usedCount: 0,
    maxPerUser: 1,
    userUses: 0,
    packageIds: ['p1'],
    packageId: 'p1',
    firstPurchaseOnly: true,
    userHasPaidBefore: false,
    now: new Date('2026-12-01T00:00:00Z'),
  };
  it.each([
    [{ enabled: false }, 'COUPON_DISABLED'],
    [{ validFrom: new Date('2026-12-02T00:00:00Z') }, 'COUPON_NOT_STARTED'],
    [{ validUntil: new Date('2026-12-01T00:00:00Z') }, 'COUPON_EXPIRED'],
    [{ packageId: 'p2' }, 'COUPON_PACKAGE_NOT_ELIGIBLE'],
    [{ userHasPaidBefore: true }, 'COUPON_FIRST_PURCHASE_ONLY'],
    [{ userUses: 1 }, 'COUPON_USER_LIMIT_REACHED'],
    [{ usedCount: 10 }, 'COUPON_EXHAUSTED'],
    [{}, null],
  ])('%j -> %s', (change, reason) => {
    expect(couponRefusal({ ...ok, ...change })).toBe(reason);
  });
});

describe('revenue split (modules/sellers/rules/revenue-split.ts)', () => {
  it('adds up for every amount 1..10 000 at the default 15 % and other fees; the seller gets the odd unit', () => {
    for (const fee of [1500, 0, 1, 333, 2500, 9999, 10_000]) {
      for (let amount = 1; amount <= 10_000; amount++) {
        const split = splitRevenue(amount, fee);
        if (split.platformFeeMinor + split.sellerShareMinor !== amount) throw new Error(`${amount} at ${fee}`);
        if (split.platformFeeMinor > (amount * fee) / 10_000 || split.platformFeeMinor < 0 || split.sellerShareMinor < 0) throw new Error(`${amount} at ${fee}: ${JSON.stringify(split)}`);
      }
    }
    expect(splitRevenue(999, 1500)).toEqual({ platformFeeMinor: 149, sellerShareMinor: 850 });
  });

  it('property: partial refunds reverse in proportion, add up to each refund, and a full refund reverses exactly the sale', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 8 }),
        (amount, fee, cuts) => {
          const sale = splitRevenue(amount, fee);
          let refunded = 0;
          let feeBack = 0;
          let shareBack = 0;
          for (const cut of cuts) {
            const refund = Math.min(cut, amount - refunded);
            if (refund === 0) break;
            const reversal = reverseSplit(sale, refunded, refund);
            expect(reversal.platformFeeMinor + reversal.sellerShareMinor).toBe(refund);
            expect(reversal.platformFeeMinor).toBeGreaterThanOrEqual(0);
            expect(reversal.sellerShareMinor).toBeGreaterThanOrEqual(0);
            refunded += refund;
            feeBack += reversal.platformFeeMinor;
            shareBack += reversal.sellerShareMinor;
            expect(feeBack).toBeLessThanOrEqual(sale.platformFeeMinor);
            expect(shareBack).toBeLessThanOrEqual(sale.sellerShareMinor);
          }
          const rest = amount - refunded;
          if (rest > 0) {
            const last = reverseSplit(sale, refunded, rest);
            feeBack += last.platformFeeMinor;
            shareBack += last.sellerShareMinor;
          }
          expect({ feeBack, shareBack }).toEqual({ feeBack: sale.platformFeeMinor, shareBack: sale.sellerShareMinor });
        },
      ),
      { seed: SEED, numRuns: 3000 },
    );
  });
});

describe('reconciliation (modules/reconciliation/rules/reconciliation.ts)', () => {
  const paid = (orderId: string, amount = 1000, refunded = 0): LocalPayment => ({
    orderId,
    orderStatus: refunded ? 'partially_refunded' : 'completed',
    payment: { externalId: `t-${orderId}`, amountMinor: amount, currency: 'USD', source: 'gateway' },
    refundedMinor: refunded,
  });
  const record = (orderId: string, fields: Partial<GatewayRecord> = {}): GatewayRecord => ({
    orderId,
    externalId: `t-${orderId}`,
    amountMinor: 1000,
    currency: 'USD',
    succeeded: true,
    refundedMinor: 0,
    ...fields,
  });

  it('agrees when both sides agree, and names each kind of disagreement', () => {
    expect(findMismatches([paid('a'), paid('b', 1000, 300)], [record('a'), record('b', { refundedMinor: 300 })])).toEqual([]);
    const kinds = findMismatches(
      [
        { orderId: 'stuck', orderStatus: 'pending_payment', payment: null, refundedMinor: 0 },
        paid('ghost'),
        paid('amount'),
        paid('currency'),
        paid('refund-gw'),
        paid('refund-local', 1000, 200),
        { orderId: 'never-paid', orderStatus: 'expired', payment: null, refundedMinor: 0 },
      ],
      [
        record('stuck'),
        record('amount', { amountMinor: 999 }),
        record('currency', { currency: 'EUR' }),
        record('refund-gw', { refundedMinor: 100 }),
        record('refund-local'),
        record('failed-at-gateway', { succeeded: false }),
      ],
    ).map((m) => [m.kind, m.orderId]);
    expect(kinds.sort()).toEqual(
      [
        ['paid_not_provisioned', 'stuck'],
        ['provisioned_without_payment', 'ghost'],
        ['amount_mismatch', 'amount'],
        ['currency_mismatch', 'currency'],
        ['refund_only_at_gateway', 'refund-gw'],
        ['refund_only_local', 'refund-local'],
      ].sort(),
    );
  });

  it('a payment the saga refunded in full is not a mismatch', () => {
    const failed: LocalPayment = { ...paid('saga'), orderStatus: 'failed' };
    expect(findMismatches([failed], [record('saga', { refundedMinor: 1000 })])).toEqual([]);
  });
});
