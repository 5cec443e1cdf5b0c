/**
 * Burn-down rules: which grants a spend draws from, and in what order. Pure, no I/O, so the same
 * rules run in unit/property tests, in the credit engine and (if ever needed) in workflow code.
 */

export interface GrantBalance {
  id: string;
  status: 'pending' | 'active' | 'expired' | 'depleted' | 'revoked';
  priority: number;
  startsAt: Date;
  /** null = never expires */
  expiresAt: Date | null;
  createdAt: Date;
  totalCredits: number;
  usedCredits: number;
  reservedCredits: number;
}

export interface Allocation {
  grantId: string;
  credits: number;
}

export type SpendPlan =
  | { ok: true; allocations: Allocation[] }
  | { ok: false; required: number; available: number };

export function availableCredits(grant: Pick<GrantBalance, 'totalCredits' | 'usedCredits' | 'reservedCredits'>): number {
  return grant.totalCredits - grant.usedCredits - grant.reservedCredits;
}

/** A grant can be spent from when it is active, has started, has not expired and has credits left. */
export function isSpendable(grant: GrantBalance, now: Date): boolean {
  return (
    grant.status === 'active' &&
    grant.startsAt.getTime() <= now.getTime() &&
    (grant.expiresAt === null || grant.expiresAt.getTime() > now.getTime()) &&
    availableCredits(grant) > 0
  );
}

/** Priority ascending, then soonest expiry (never-expiring last), then oldest, then id for a total order. */
export function compareBurnDownOrder(a: GrantBalance, b: GrantBalance): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  const aExpiry = a.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const bExpiry = b.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  if (aExpiry !== bExpiry) return aExpiry < bExpiry ? -1 : 1;
  if (a.createdAt.getTime() !== b.createdAt.getTime()) return a.createdAt.getTime() - b.createdAt.getTime();
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Total credits a user can spend right now. */
export function spendableTotal(grants: GrantBalance[], now: Date): number {
  return grants.filter((g) => isSpendable(g, now)).reduce((sum, g) => sum + availableCredits(g), 0);
}

/**
 * Plans a spend of `credits` across the user's grants in burn-down order. All or nothing:
 * when the spendable total is short, nothing is allocated.
 */
export function planSpend(grants: GrantBalance[], credits: number, now: Date): SpendPlan {
  if (!Number.isInteger(credits) || credits < 0) throw new RangeError(`credits must be a non-negative integer, got ${credits}`);
  const ordered = grants.filter((g) => isSpendable(g, now)).sort(compareBurnDownOrder);
  const available = ordered.reduce((sum, g) => sum + availableCredits(g), 0);
  if (available < credits) return { ok: false, required: credits, available };

  const allocations: Allocation[] = [];
  let remaining = credits;
  for (const grant of ordered) {
    if (remaining === 0) break;
    const take = Math.min(remaining, availableCredits(grant));
    allocations.push({ grantId: grant.id, credits: take });
    remaining -= take;
  }
  return { ok: true, allocations };
}

/**
 * Takes `credits` from pools in the given order, each up to its size: how a commit splits across the
 * grants a hold pinned (burn-down order), and how a refund goes back (reverse order, so a partial
 * refund undoes the most recent part of the spend).
 */
export function drawInOrder(pools: Allocation[], credits: number): Allocation[] {
  const size = pools.reduce((sum, pool) => sum + pool.credits, 0);
  if (!Number.isInteger(credits) || credits < 0 || credits > size) {
    throw new RangeError(`cannot draw ${credits} credits from pools holding ${size}`);
  }
  const drawn: Allocation[] = [];
  let remaining = credits;
  for (const pool of pools) {
    if (remaining === 0) break;
    const take = Math.min(remaining, pool.credits);
    if (take > 0) {
      drawn.push({ grantId: pool.grantId, credits: take });
      remaining -= take;
    }
  }
  return drawn;
}
