/**
 * Timing rules of the package and subscription lifecycle timers. Pure and workflow-safe: the
 * lifecycle workflows plan their timers with these, and unit tests check them without a server.
 * All instants are epoch milliseconds (UTC by definition).
 */

const DAY_MS = 86_400_000;

/** Reminder lead times before expiry when none are configured: 7 days and 1 day. */
export const DEFAULT_REMINDER_LEAD_DAYS: readonly number[] = [7, 1];

/** Where a grant or subscription stands, as the lifecycle timer sees it. */
export type LifecyclePhase = 'pending' | 'active' | 'expired' | 'revoked' | 'permanent' | 'gone';

export interface TimerSubject {
  /** Start of validity; a pending grant activates then. */
  startsAt: number;
  /** null: never expires (no timer needed once active). */
  expiresAt: number | null;
  /** When the current expiry was set (first load or the last change): reminders due before it are skipped. */
  plannedFrom: number;
  /** Keys of reminders already recorded (reminderKey). */
  remindersSent: readonly string[];
}

export type NextStep =
  | { kind: 'activate'; at: number }
  | { kind: 'remind'; at: number; leadDays: number; key: string }
  | { kind: 'expire'; at: number }
  | { kind: 'none' };

/** A reminder is one per expiry instant and lead time: moving the expiry makes new reminders. */
function reminderKey(expiresAt: number, leadDays: number): string {
  return `${new Date(expiresAt).toISOString()}/${leadDays}d`;
}

/**
 * The next thing the timer must do. A reminder whose time had already passed when the current expiry
 * was set is skipped (a package granted 3 days before its end gets the 1-day reminder only); so is
 * one already sent for this expiry. Reminders come before the expiry; activation before anything.
 */
export function nextStep(subject: TimerSubject, phase: LifecyclePhase, leadDays: readonly number[]): NextStep {
  if (phase === 'pending') return { kind: 'activate', at: subject.startsAt };
  if (phase !== 'active' || subject.expiresAt === null) return { kind: 'none' };
  const expiresAt = subject.expiresAt;
  const reminders = [...new Set(leadDays)]
    .filter((days) => days > 0)
    .map((days) => ({ days, at: expiresAt - days * DAY_MS }))
    .filter(({ days, at }) => at >= subject.plannedFrom && at < expiresAt && !subject.remindersSent.includes(reminderKey(expiresAt, days)))
    .sort((a, b) => a.at - b.at);
  const first = reminders[0];
  if (first) return { kind: 'remind', at: first.at, leadDays: first.days, key: reminderKey(expiresAt, first.days) };
  return { kind: 'expire', at: expiresAt };
}

/**
 * A grant is over once its expiry INSTANT has passed, whether or not its timer has run yet: from then
 * on it is unspendable (spends take only grants with `expiresAt > now`), so nothing may change it any
 * more. Moving the expiry of such a grant would revive credits that were already lost, and revoking it
 * would take back credits that are no longer there to take; both are refused (PACKAGE_STATE_CONFLICT),
 * the same as for a grant already marked expired. The timer (or the sweep) will mark it expired.
 */
export function hasExpiredAt(expiresAt: number | null, now: number): boolean {
  return expiresAt !== null && expiresAt <= now;
}
