import { planSpend, spendableTotal, type Allocation, type GrantBalance } from '../domain/burn-down';
import { BillingError } from '../domain/errors';
import { priceAction, type PricedAction } from './pricing';
import type { Tx } from '../infra/database';
import { lockUserCredits } from './locks';

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

/** Plans a spend under the user's lock, or throws INSUFFICIENT_CREDITS with required and available. */
async function allocateSpend(tx: Tx, userId: string, credits: number, now: Date): Promise<Allocation[]> {
  const grants = await loadCandidateGrants(tx, userId, now);
  const plan = planSpend(grants, credits, now);
  if (!plan.ok) throw insufficientCredits(plan.required, plan.available);
  return plan.allocations;
}

export async function spendableCredits(tx: Tx, userId: string, now: Date): Promise<number> {
  return spendableTotal(await loadCandidateGrants(tx, userId, now), now);
}

/** Prices an action and plans its spend under the user's lock: the common first half of a deduct and a hold. */
export async function priceAndAllocate(
  tx: Tx,
  userId: string,
  actionKey: string,
  quantity: number,
  now: Date,
): Promise<{ priced: PricedAction; allocations: Allocation[] }> {
  const priced = await priceAction(tx, actionKey, quantity);
  await lockUserCredits(tx, userId);
  return { priced, allocations: await allocateSpend(tx, userId, priced.credits, now) };
}
