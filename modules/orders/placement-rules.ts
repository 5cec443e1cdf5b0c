/**
 * The rules an order was placed under that can stop holding before its payment is provisioned
 * (modules/orders/rules/payment-time-rules.ts), checked again by the provisioning transaction
 * (modules/subscriptions/provision.ts) under the user's credit lock. Placement checks the first itself
 * (modules/orders/store.ts placeOrder).
 */
import { BillingError } from '../../platform/errors';
import type { Order } from '../../generated/prisma/client';
import type { Tx } from '../../platform/database';
import { confirmCouponUse } from '../coupons';
import { userHoldsPermanentPackage } from './ownership';

/**
 * Throws the refusal (ALREADY_OWNED, COUPON_NOT_APPLICABLE), so the caller's transaction rolls back
 * and the order workflow refunds the payment; otherwise confirms the order's coupon use. A package
 * withdrawn since the order was placed is still delivered, on the order's snapshotted terms.
 */
export async function recheckPlacementRules(tx: Tx, order: Order): Promise<void> {
  if (order.packageType === 'permanent' && (await userHoldsPermanentPackage(tx, order.userId, order.packageId))) {
    throw new BillingError('ALREADY_OWNED', `User already holds the permanent package "${order.packageCode}".`, { packageCode: order.packageCode });
  }
  // Only an order placed with a coupon has a use to confirm (modules/coupons/redemptions.ts).
  if (order.couponCode !== null) await confirmCouponUse(tx, order.id);
}
