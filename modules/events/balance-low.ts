/**
 * Balance low: called by every credit operation that changes a user's available credits, in its
 * transaction and under the user's lock, with the available total after the change. Records
 * `balance.low` once per fall below the threshold (the rule is modules/events/rules/balance-low.ts). Rises must be
 * noted too: a user is armed by being seen at or above the threshold (no row: never was).
 * The SQL functions apply the same rule (`balance_low_after`, its latest migration).
 */
import type { Tx } from '../../platform/database';
import { balanceLowTransition } from './rules/balance-low';
import { eventsConfig } from './config';
import { recordEvent } from '../../platform/outbox/record';

/** The threshold (BALANCE_LOW_THRESHOLD), for a spend that applies the rule in SQL (the deduct function). */
export function balanceLowThreshold(): number {
  return eventsConfig().BALANCE_LOW_THRESHOLD;
}

export async function noteAvailableCredits(tx: Tx, userId: string, availableCredits: number, threshold = balanceLowThreshold()): Promise<void> {
  const state = await tx.balanceLowState.findUnique({ where: { userId }, select: { below: true } });
  const wasBelow = state ? state.below : null;
  const decision = balanceLowTransition(wasBelow, availableCredits, threshold);
  // Standing unchanged (still above, still below, or still never at or above): nothing to store, so
  // the hot path stays one read.
  if (decision.below === wasBelow || decision.below === null) return;
  await tx.balanceLowState.upsert({ where: { userId }, create: { userId, below: decision.below }, update: { below: decision.below } });
  if (decision.emit) await recordEvent(tx, { type: 'balance.low', userId, payload: { availableCredits, threshold } });
}
