/**
 * The renewal rule: which period a paid order buys. Pure; unit-tested.
 *
 * A renewal of a subscription that is still running starts where the current period ends, so paying
 * early never loses days. A lapsed (or first) subscription starts now. A permanent package (no
 * duration) has a period without end.
 */
export interface CurrentSubscription {
  status: 'active' | 'expired' | 'cancelled';
  currentPeriodEnd: Date | null;
}

export interface PeriodPlan {
  kind: 'start' | 'renewal' | 'restart';
  start: Date;
  /** Null: never ends (permanent package). */
  end: Date | null;
}

export const DAY_MS = 86_400_000;

export function planPeriod(current: CurrentSubscription | null, now: Date, durationDays: number | null): PeriodPlan {
  const running = current !== null && current.status === 'active' && (current.currentPeriodEnd === null || current.currentPeriodEnd > now);
  const kind = current === null ? 'start' : running ? 'renewal' : 'restart';
  const start = running && current.currentPeriodEnd !== null ? current.currentPeriodEnd : now;
  return { kind, start, end: durationDays === null ? null : new Date(start.getTime() + durationDays * DAY_MS) };
}
