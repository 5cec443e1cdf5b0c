/**
 * Whether a user holds a permanent package (modules/orders/rules/payment-time-rules.ts), read in the caller's
 * transaction. Callers hold the user's credit lock (modules/credits/locks.ts), which every writer of the
 * user's grants and every provisioning takes first, so the answer cannot go stale before they write:
 * two orders for one permanent package provisioned at the same moment are decided one after the other.
 */
import { holdsPermanentPackage } from './rules/payment-time-rules';
import type { Tx } from '../../platform/database';

export async function userHoldsPermanentPackage(tx: Tx, userId: string, packageId: string): Promise<boolean> {
  const [liveGrants, subscription] = await Promise.all([
    tx.userPackage.count({ where: { userId, packageId, status: { in: ['active', 'depleted'] } } }),
    tx.subscription.findUnique({ where: { userId_packageId: { userId, packageId } }, select: { status: true, currentPeriodEnd: true } }),
  ]);
  return holdsPermanentPackage({ liveGrants, subscription });
}
