/**
 * The balance-low rule: one `balance.low` event each time the balance FALLS below the threshold, none
 * while it stays below, and the rule re-arms only once the balance is back at or above the threshold.
 * A balance that never was at or above the threshold has not fallen: a new user granted 5 credits (or a
 * package that starts later, so 0 now) under a threshold of 10 gets no event.
 * Pure (no I/O): the caller stores the standing per user and passes it back in.
 */

/**
 * Where the user's balance stood when last noted: `below` (true) or `at or above` (false) the
 * threshold, or `null` when it has never been at or above it (no record: a new user). Stored as
 * `balance_low_states.below`; a missing row is `null`.
 */
export type BalanceStanding = boolean | null;

export interface BalanceLowDecision {
  /** The standing to store for the user (`null`: store nothing). */
  below: BalanceStanding;
  /** True exactly when this change fell from at-or-above to below the threshold. */
  emit: boolean;
}

export function balanceLowTransition(wasBelow: BalanceStanding, availableCredits: number, threshold: number): BalanceLowDecision {
  if (availableCredits >= threshold) return { below: false, emit: false };
  // Below now: a fall only from a noted at-or-above; never at or above stays never (nothing to re-arm).
  return wasBelow === null ? { below: null, emit: false } : { below: true, emit: wasBelow === false };
}
