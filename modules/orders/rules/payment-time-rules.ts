/**
 * Rules an order was judged by when it was placed that are judged again when its payment is
 * provisioned, because they can stop holding in between (two unpaid orders for one permanent package,
 * a late payment after the order expired or was cancelled). Pure; unit-tested.
 *
 * Re-checked, in the transaction that provisions and under the user's credit lock:
 * - a permanent package is held once (`holdsPermanentPackage`);
 * - a coupon use that was given back is taken again only within the coupon's limits
 *   (`couponRetakeRefusal`): meanwhile the use may have gone to another order.
 * A payment that breaks one of them is refused: refunded through its channel, and the order closes
 * `refunded` with the reason (docs/architecture.md "Late payment rule").
 *
 * Honoured as placed (the buyer accepted an offer that was valid, and paid for it): the package was
 * withdrawn (disabled or deleted) or hidden since, its price changed (the order's snapshot is what
 * was charged and what is delivered), the channel was disabled or stopped taking the currency, the
 * coupon was disabled, expired, restricted to other packages, or the user paid another order before
 * this first-purchase-only one.
 */
import type { CouponRefusal } from '../../coupons/rules/discount';
import type { CurrentSubscription } from '../../subscriptions/rules/subscription-period';

export interface PermanentOwnershipFacts {
  /** The user's grants of the package that are active or depleted (a spent permanent package is still owned). */
  liveGrants: number;
  /** The user's subscription to the package, if any. */
  subscription: CurrentSubscription | null;
}

/**
 * The user holds the permanent package: a live grant of it (from any source: an order, an admin
 * assignment), or a running subscription without end, which a provisioned order has before its grant
 * is written.
 */
export function holdsPermanentPackage(facts: PermanentOwnershipFacts): boolean {
  if (facts.liveGrants > 0) return true;
  return facts.subscription !== null && facts.subscription.status === 'active' && facts.subscription.currentPeriodEnd === null;
}

export interface CouponRetakeFacts {
  maxPerUser: number | null;
  /** The user's other uses of the coupon, reserved or confirmed. */
  userUses: number;
  maxRedemptions: number | null;
  /** Uses reserved or confirmed right now. */
  usedCount: number;
}

/** Why a use that was given back cannot be taken again for a late payment, or null if it can. */
export function couponRetakeRefusal(facts: CouponRetakeFacts): Extract<CouponRefusal, 'COUPON_USER_LIMIT_REACHED' | 'COUPON_EXHAUSTED'> | null {
  if (facts.maxPerUser !== null && facts.userUses >= facts.maxPerUser) return 'COUPON_USER_LIMIT_REACHED';
  if (facts.maxRedemptions !== null && facts.usedCount >= facts.maxRedemptions) return 'COUPON_EXHAUSTED';
  return null;
}
