/**
 * What a coupon takes off a price, and whether it applies at all. Pure: the coupon service feeds it
 * the coupon, the order's facts and the user's history, and stores what it decides.
 *
 * Rounding rule: a percent discount is `floor(amount × basisPoints / 10 000)` minor units of the
 * order's currency: the discount is rounded DOWN, so the buyer pays the rounded-up remainder and the
 * percentage is never exceeded (JPY rounds at the yen, USD at the cent, KWD at the fils).
 * A fixed discount is the coupon's amount for that currency (no amount for it: it does not apply).
 *
 * Floor rule: the discounted amount is never below the currency's minimum charge
 * (platform/currencies.ts) nor below zero: the discount is cut to `amount - max(minimum, 0)`; a price
 * already at or below the minimum gets no discount at all (the coupon still applies, for 0).
 */
import { currencyInfo } from '../../../platform/currencies';

type CouponKind = 'percent' | 'fixed';

export interface DiscountTerms {
  kind: CouponKind;
  /** percent: 1..10 000 basis points (100 % = 10 000). */
  percentBasisPoints?: number | null;
  /** fixed: minor units per currency, e.g. { USD: 500, JPY: 500, KWD: 1500 }. */
  amountsOff?: Record<string, number> | null;
}

export interface DiscountResult {
  listAmountMinor: number;
  discountMinor: number;
  amountMinor: number;
  /** True when the floor cut the discount. */
  limitedByMinimum: boolean;
}

export function minimumCharge(currency: string): number {
  return currencyInfo(currency)?.minimumChargeMinor ?? 0;
}

/** null: a fixed coupon with no amount for this currency. */
export function applyDiscount(terms: DiscountTerms, listAmountMinor: number, currency: string): DiscountResult | null {
  if (!Number.isSafeInteger(listAmountMinor) || listAmountMinor < 0) throw new RangeError('amount must be a non-negative integer');
  let wanted: number;
  if (terms.kind === 'percent') {
    const bp = terms.percentBasisPoints ?? 0;
    wanted = Math.floor((listAmountMinor * bp) / 10_000);
  } else {
    const off = terms.amountsOff?.[currency];
    if (off === undefined) return null;
    wanted = off;
  }
  const floor = Math.max(minimumCharge(currency), 0);
  const room = Math.max(0, listAmountMinor - floor);
  const discountMinor = Math.max(0, Math.min(wanted, room));
  return { listAmountMinor, discountMinor, amountMinor: listAmountMinor - discountMinor, limitedByMinimum: discountMinor < wanted };
}

/** Why a coupon does not apply: stable codes, answered by the preview and in COUPON_NOT_APPLICABLE. */
export const COUPON_REFUSALS = [
  'COUPON_NOT_FOUND',
  'COUPON_DISABLED',
  'COUPON_NOT_STARTED',
  'COUPON_EXPIRED',
  'COUPON_EXHAUSTED',
  'COUPON_USER_LIMIT_REACHED',
  'COUPON_PACKAGE_NOT_ELIGIBLE',
  'COUPON_FIRST_PURCHASE_ONLY',
  'COUPON_CURRENCY_NOT_COVERED',
] as const;
export type CouponRefusal = (typeof COUPON_REFUSALS)[number];

export interface CouponFacts {
  enabled: boolean;
  validFrom: Date | null;
  validUntil: Date | null;
  maxRedemptions: number | null;
  /** Uses reserved or confirmed right now. */
  usedCount: number;
  maxPerUser: number | null;
  userUses: number;
  packageIds: string[] | null;
  packageId: string;
  firstPurchaseOnly: boolean;
  userHasPaidBefore: boolean;
  now: Date;
}

/** The first rule the coupon breaks, in a fixed order (so the reason is stable), or null. */
export function couponRefusal(facts: CouponFacts): CouponRefusal | null {
  if (!facts.enabled) return 'COUPON_DISABLED';
  if (facts.validFrom && facts.now < facts.validFrom) return 'COUPON_NOT_STARTED';
  if (facts.validUntil && facts.now >= facts.validUntil) return 'COUPON_EXPIRED';
  if (facts.packageIds && facts.packageIds.length > 0 && !facts.packageIds.includes(facts.packageId)) return 'COUPON_PACKAGE_NOT_ELIGIBLE';
  if (facts.firstPurchaseOnly && facts.userHasPaidBefore) return 'COUPON_FIRST_PURCHASE_ONLY';
  if (facts.maxPerUser !== null && facts.userUses >= facts.maxPerUser) return 'COUPON_USER_LIMIT_REACHED';
  if (facts.maxRedemptions !== null && facts.usedCount >= facts.maxRedemptions) return 'COUPON_EXHAUSTED';
  return null;
}
