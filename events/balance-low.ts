/**
 * Balance low: called by every credit operation that changes a user's available credits, in its
 * transaction and under the user's lock, with the available total after the change. Records
 * `balance.low` once per crossing below the threshold (the rule is domain/balance-low.ts).
 */
import type { Tx } from '../infra/database';
import { balanceLowTransition } from '../domain/balance-low';
import { eventsConfig } from './config';
import { recordEvent } from './record';

/** The threshold (BALANCE_LOW_THRESHOLD), for a spend that applies the rule in SQL (the deduct function). */
export function balanceLowThreshold(): number {
  return eventsConfig().BALANCE_LOW_THRESHOLD;
}

export async function noteAvailableCredits(tx: Tx, userId: string, availableCredits: number, threshold = balanceLowThreshold()): Promise<void> {
  const state = await tx.balanceLowState.findUnique({ where: { userId }, select: { below: true } });
  const wasBelow = state?.below ?? false;
  const decision = balanceLowTransition(wasBelow, availableCredits, threshold);
  // A user never seen below and still above: nothing to store (keeps the hot path to one read).
  if (decision.below === wasBelow) return;
  await tx.balanceLowState.upsert({ where: { userId }, create: { userId, below: decision.below }, update: { below: decision.below } });
  if (decision.emit) await recordEvent(tx, { type: 'balance.low', userId, payload: { availableCredits, threshold } });
}
