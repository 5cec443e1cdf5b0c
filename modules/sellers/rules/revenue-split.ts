/**
 * The revenue split of a seller's sale, in integer minor units.
 *
 * Rounding rule: the platform fee is `floor(amount × feeBasisPoints / 10 000)` (rounded DOWN) and the
 * seller's share is the rest, `amount - fee`: the odd unit always goes to the SELLER, and fee + share
 * is always exactly the amount paid.
 *
 * Refunds reverse the split in proportion, computed on the CUMULATIVE refunded amount R of a payment
 * P with share S: seller reversed so far = floor(S × R / P), platform reversed so far = R - that.
 * Each refund reverses the difference from the previous cumulative values, so the reversals of every
 * refund add up to the refund, and a full refund reverses exactly the original split.
 */
export const DEFAULT_PLATFORM_FEE_BASIS_POINTS = 1500;

export interface Split {
  platformFeeMinor: number;
  sellerShareMinor: number;
}

export function splitRevenue(amountMinor: number, feeBasisPoints: number): Split {
  if (!Number.isSafeInteger(amountMinor) || amountMinor < 0) throw new RangeError('amount must be a non-negative integer');
  if (!Number.isInteger(feeBasisPoints) || feeBasisPoints < 0 || feeBasisPoints > 10_000) throw new RangeError('fee must be 0..10000 basis points');
  const platformFeeMinor = Math.floor((amountMinor * feeBasisPoints) / 10_000);
  return { platformFeeMinor, sellerShareMinor: amountMinor - platformFeeMinor };
}

/** What one refund reverses, given the sale's split and what was refunded before it. Negative-free: the caller books it negated. */
export function reverseSplit(sale: Split, refundedBeforeMinor: number, refundMinor: number): Split {
  const paid = sale.platformFeeMinor + sale.sellerShareMinor;
  const after = refundedBeforeMinor + refundMinor;
  if (refundMinor < 0 || after > paid) throw new RangeError('refund exceeds the payment');
  if (paid === 0) return { platformFeeMinor: 0, sellerShareMinor: 0 };
  const sellerBefore = Math.floor((sale.sellerShareMinor * refundedBeforeMinor) / paid);
  const sellerAfter = Math.floor((sale.sellerShareMinor * after) / paid);
  const sellerShareMinor = sellerAfter - sellerBefore;
  return { sellerShareMinor, platformFeeMinor: refundMinor - sellerShareMinor };
}
