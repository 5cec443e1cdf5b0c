import { spendableTotal, type GrantBalance } from './rules/burn-down';
import { BillingError } from '../../platform/errors';
import type { Tx } from '../../platform/database';

/** The user's grants that could be spendable at `now` (planSpend applies the exact rule). */
export async function loadCandidateGrants(tx: Tx, userId: string, now: Date): Promise<GrantBalance[]> {
  return tx.userPackage.findMany({
    where: {
      userId,
      status: 'active',
      startsAt: { lte: now },
      OR: [{ expiresAt: null }, { expiresAt: { gt: now } }],
    },
    select: {
      id: true,
      status: true,
      priority: true,
      startsAt: true,
      expiresAt: true,
      createdAt: true,
      totalCredits: true,
      usedCredits: true,
      reservedCredits: true,
    },
  });
}

/** The refusal of a spend the user cannot afford, worded once (the deduct function in SQL raises its code). */
export function insufficientCredits(required: number, available: number): BillingError {
  return new BillingError('INSUFFICIENT_CREDITS', `Not enough credits: ${required} required, ${available} available.`, { required, available });
}

export async function spendableCredits(tx: Tx, userId: string, now: Date): Promise<number> {
  return spendableTotal(await loadCandidateGrants(tx, userId, now), now);
}
