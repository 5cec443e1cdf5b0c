/**
 * How a commit settles a hold. Pure. The commit draws the committed credits from the held grants in
 * burn-down order (whatever happened to the grants since: the hold pinned them); every held credit
 * not committed is released back to its grant, in the same transaction.
 */
import { compareBurnDownOrder, drawInOrder, type Allocation, type GrantBalance } from './burn-down';

export interface HeldAllocation {
  grant: GrantBalance;
  credits: number;
}

export interface GrantSettlement {
  grantId: string;
  committed: number;
  released: number;
}

export function settleHold(held: HeldAllocation[], committedCredits: number): { committed: Allocation[]; perGrant: GrantSettlement[] } {
  const inBurnDownOrder = [...held].sort((a, b) => compareBurnDownOrder(a.grant, b.grant));
  const committed = drawInOrder(
    inBurnDownOrder.map((h) => ({ grantId: h.grant.id, credits: h.credits })),
    committedCredits,
  );
  const committedByGrant = new Map(committed.map((a) => [a.grantId, a.credits]));
  const perGrant = held.map((h) => {
    const fromThisGrant = committedByGrant.get(h.grant.id) ?? 0;
    return { grantId: h.grant.id, committed: fromThisGrant, released: h.credits - fromThisGrant };
  });
  return { committed, perGrant };
}
