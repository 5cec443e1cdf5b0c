/**
 * A coupon's uses: judged (modules/coupons/rules/discount.ts), reserved when an order is placed, confirmed when its
 * payment is provisioned, given back when it is cancelled, expires, fails or is refunded in full.
 *
 * Exactly once: the coupon's `used_count` moves only by a conditional UPDATE
 * (`used_count < max_redemptions`), so when 10 orders race for the last use PostgreSQL's row lock
 * lets exactly one through (a CHECK constraint backs it). The per-user limit is counted under the
 * user's advisory lock, which placing an order already holds. A redemption row changes status by a
 * guarded UPDATE (`reserved → confirmed`, `reserved|confirmed → released`), so a use is given back at
 * most once however often the closing transition is retried.
 *
 * Late payment rule: a payment for an order whose use was given back (it expired, then was paid)
 * takes the use again only within the coupon's limits (modules/orders/rules/payment-time-rules.ts): if the code is
 * exhausted meanwhile, or the user has used it as often as allowed, the payment is refused and
 * refunded like any payment that cannot be provisioned. The confirmation runs in the provisioning
 * transaction, under the user's lock, so a refusal leaves nothing behind. (`over_limit` marks uses
 * confirmed past the limit before this rule; giving one back does not move the counter.)
 */
import { BillingError } from '../../platform/errors';
import { applyDiscount, couponRefusal, type CouponRefusal, type DiscountResult } from './rules/discount';
import { couponRetakeRefusal } from '../orders/rules/payment-time-rules';
import type { BillingPackage, Coupon } from '../../generated/prisma/client';
import type { Database, Tx } from '../../platform/database';
import type { CouponPreviewView } from './views';

const PAID_STATUSES = ['paid', 'provisioning', 'completed', 'partially_refunded', 'refunded'] as const;

export interface CouponJudgement {
  coupon: Coupon | null;
  refusal: CouponRefusal | null;
  discount: DiscountResult;
}

/** What the coupon would do for this user, package and price; reads only. */
export async function judgeCoupon(
  db: Database | Tx,
  request: { code: string; userId: string; pkg: BillingPackage; currency: string; listAmountMinor: number },
): Promise<CouponJudgement> {
  const none: DiscountResult = { listAmountMinor: request.listAmountMinor, discountMinor: 0, amountMinor: request.listAmountMinor, limitedByMinimum: false };
  const coupon = await db.coupon.findUnique({ where: { code: request.code } });
  if (!coupon) return { coupon: null, refusal: 'COUPON_NOT_FOUND', discount: none };
  const [userUses, paidBefore] = await Promise.all([
    db.couponRedemption.count({ where: { couponId: coupon.id, userId: request.userId, status: { in: ['reserved', 'confirmed'] } } }),
    db.order.count({ where: { userId: request.userId, status: { in: [...PAID_STATUSES] } } }),
  ]);
  const refusal = couponRefusal({
    enabled: coupon.enabled,
    validFrom: coupon.validFrom,
    validUntil: coupon.validUntil,
    maxRedemptions: coupon.maxRedemptions,
    usedCount: coupon.usedCount,
    maxPerUser: coupon.maxPerUser,
    userUses,
    packageIds: (coupon.packageIds as string[] | null) ?? null,
    packageId: request.pkg.id,
    firstPurchaseOnly: coupon.firstPurchaseOnly,
    userHasPaidBefore: paidBefore > 0,
    now: new Date(),
  });
  if (refusal) return { coupon, refusal, discount: none };
  const discount = applyDiscount(
    { kind: coupon.kind, percentBasisPoints: coupon.percentBasisPoints, amountsOff: coupon.amountsOff as Record<string, number> | null },
    request.listAmountMinor,
    request.currency,
  );
  if (!discount) return { coupon, refusal: 'COUPON_CURRENCY_NOT_COVERED', discount: none };
  return { coupon, refusal: null, discount };
}

export function previewView(code: string, packageCode: string, currency: string, judgement: CouponJudgement): CouponPreviewView {
  return { code, applicable: judgement.refusal === null, reason: judgement.refusal, packageCode, currency, ...judgement.discount };
}

function refused(code: string, reason: CouponRefusal): BillingError {
  return new BillingError('COUPON_NOT_APPLICABLE', `Coupon "${code}" does not apply: ${reason}.`, { couponCode: code, reason });
}

/**
 * Reserves one use for a new order, in the order's transaction (the caller holds the user's lock).
 * Throws COUPON_NOT_APPLICABLE with the reason; the caller's transaction then rolls back whole.
 */
export async function reserveCouponUse(
  tx: Tx,
  request: { code: string; userId: string; pkg: BillingPackage; currency: string; listAmountMinor: number },
): Promise<{ couponId: string; discount: DiscountResult }> {
  const judgement = await judgeCoupon(tx, request);
  if (judgement.refusal || !judgement.coupon) throw refused(request.code, judgement.refusal ?? 'COUPON_NOT_FOUND');
  const taken = await tx.$executeRaw`
    UPDATE coupons SET used_count = used_count + 1, updated_at = now()
    WHERE id = ${judgement.coupon.id}::uuid AND enabled
      AND (max_redemptions IS NULL OR used_count < max_redemptions)`;
  if (taken !== 1) throw refused(request.code, 'COUPON_EXHAUSTED');
  return { couponId: judgement.coupon.id, discount: judgement.discount };
}

/** Records the reservation once the order row exists (same transaction as reserveCouponUse). */
export async function recordCouponReservation(tx: Tx, orderId: string, userId: string, couponId: string, discountMinor: number, currency: string): Promise<void> {
  await tx.couponRedemption.create({ data: { orderId, couponId, userId, discountMinor, currency } });
}

/**
 * The order is being provisioned: its use is confirmed. A use given back meanwhile is taken again
 * only within the limits; otherwise COUPON_NOT_APPLICABLE is thrown with the reason, and the caller's
 * transaction (which holds the user's lock, so the per-user count cannot move) rolls back whole.
 */
export async function confirmCouponUse(tx: Tx, orderId: string): Promise<void> {
  const confirmed = await tx.couponRedemption.updateMany({ where: { orderId, status: 'reserved' }, data: { status: 'confirmed' } });
  if (confirmed.count === 1) return;
  const redemption = await tx.couponRedemption.findUnique({ where: { orderId } });
  if (!redemption || redemption.status !== 'released') return;
  // The coupon's row lock holds its counter still between the check and the increment.
  const [coupon] = await tx.$queryRaw<Array<{ code: string; used_count: number; max_redemptions: number | null; max_per_user: number | null }>>`
    SELECT code, used_count, max_redemptions, max_per_user FROM coupons WHERE id = ${redemption.couponId}::uuid FOR UPDATE`;
  if (!coupon) throw new Error(`confirmCouponUse: coupon ${redemption.couponId} of order ${orderId} is missing`);
  const userUses = await tx.couponRedemption.count({
    where: { couponId: redemption.couponId, userId: redemption.userId, status: { in: ['reserved', 'confirmed'] } },
  });
  const refusal = couponRetakeRefusal({ maxPerUser: coupon.max_per_user, userUses, maxRedemptions: coupon.max_redemptions, usedCount: coupon.used_count });
  if (refusal) throw refused(coupon.code, refusal);
  await tx.$executeRaw`UPDATE coupons SET used_count = used_count + 1, updated_at = now() WHERE id = ${redemption.couponId}::uuid`;
  await tx.couponRedemption.updateMany({ where: { orderId, status: 'released' }, data: { status: 'confirmed', overLimit: false } });
}

/** The order closed without keeping its payment: give its use back, at most once. */
export async function releaseCouponUse(tx: Tx, orderId: string): Promise<boolean> {
  const rows = await tx.$queryRaw<Array<{ coupon_id: string; over_limit: boolean }>>`
    UPDATE coupon_redemptions SET status = 'released', updated_at = now()
    WHERE order_id = ${orderId}::uuid AND status IN ('reserved', 'confirmed')
    RETURNING coupon_id, over_limit`;
  const released = rows[0];
  if (!released) return false;
  if (!released.over_limit) {
    await tx.$executeRaw`UPDATE coupons SET used_count = used_count - 1, updated_at = now() WHERE id = ${released.coupon_id}::uuid AND used_count > 0`;
  }
  return true;
}
