/**
 * The proportional revocation rule for order refunds. Pure; unit- and property-tested.
 *
 * Refunding a share of what was paid takes back the same share of what the order gave: of its
 * credits and of its subscription time. Shares are computed on the cumulative refunded amount and
 * rounded down, so several partial refunds add up to exactly what one refund of their sum would take,
 * and a full refund takes everything. Credits already spent are never clawed back below zero: what
 * cannot be taken from the grant's available credits is recorded as the refund's shortfall.
 */
export interface RevocationInput {
  orderAmountMinor: number;
  /** Refunded before this refund. */
  refundedBeforeMinor: number;
  refundMinor: number;
  /** Credits the order granted. */
  grantedCredits: number;
  /** Credits earlier refunds accounted for (revoked + shortfall). */
  creditsAccountedBefore: number;
  /** What the grant has left to take (available = total - used - reserved). */
  grantAvailable: number;
  /** Length of the period the order bought, in seconds; null for a permanent package. */
  periodSeconds: number | null;
  secondsRevokedBefore: number;
}

export interface RevocationPlan {
  creditsToRevoke: number;
  creditsShortfall: number;
  secondsToRevoke: number;
  /** True when the order is now refunded in full. */
  full: boolean;
}

export function refundableMinor(orderAmountMinor: number, refundedBeforeMinor: number): number {
  return Math.max(0, orderAmountMinor - refundedBeforeMinor);
}

/** Floor of value * numerator / denominator in exact integer arithmetic. */
function shareOf(value: number, numerator: number, denominator: number): number {
  return Number((BigInt(value) * BigInt(numerator)) / BigInt(denominator));
}

export function planRevocation(input: RevocationInput): RevocationPlan {
  const { orderAmountMinor, refundedBeforeMinor, refundMinor } = input;
  if (!(orderAmountMinor > 0) || !(refundMinor > 0) || refundMinor > refundableMinor(orderAmountMinor, refundedBeforeMinor)) {
    throw new RangeError('refund must be positive and at most what is left to refund');
  }
  const refundedAfter = refundedBeforeMinor + refundMinor;
  const creditsTarget = shareOf(input.grantedCredits, refundedAfter, orderAmountMinor);
  const creditsDue = Math.max(0, creditsTarget - input.creditsAccountedBefore);
  const creditsToRevoke = Math.min(creditsDue, Math.max(0, input.grantAvailable));
  const secondsTarget = input.periodSeconds === null ? 0 : shareOf(input.periodSeconds, refundedAfter, orderAmountMinor);
  return {
    creditsToRevoke,
    creditsShortfall: creditsDue - creditsToRevoke,
    secondsToRevoke: Math.max(0, secondsTarget - input.secondsRevokedBefore),
    full: refundedAfter === orderAmountMinor,
  };
}
