/**
 * The balance-low rule: one `balance.low` event per crossing below the threshold, none while the balance
 * stays below, and the rule re-arms only once the balance is back at or above the threshold.
 * Pure (no I/O): the caller stores `below` per user and passes it back in.
 */
export interface BalanceLowDecision {
  /** The state to store for the user. */
  below: boolean;
  /** True exactly when this change crossed from at-or-above to below the threshold. */
  emit: boolean;
}

export function balanceLowTransition(wasBelow: boolean, availableCredits: number, threshold: number): BalanceLowDecision {
  const below = availableCredits < threshold;
  return { below, emit: below && !wasBelow };
}
