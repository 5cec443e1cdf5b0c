/**
 * Rules for a grant's validity window. Pure: the credit engine and (later) the package lifecycle
 * workflow compute expiry the same way.
 */

const DAY_MS = 86_400_000;

/** A grant of a package lasts the package's duration from its start; no duration means it never expires. */
export function grantExpiry(startsAt: Date, durationDays: number | null): Date | null {
  return durationDays === null ? null : new Date(startsAt.getTime() + durationDays * DAY_MS);
}

export type InitialGrantStatus = 'active' | 'pending';

export type GrantCreation =
  | { ok: true; status: InitialGrantStatus }
  | { ok: false; reason: 'already_expired'; expiresAt: Date };

/**
 * The status a grant is written with, from its dates at creation (`now`): a grant whose window has not
 * opened yet is `pending` (activation over time is the lifecycle's job); one whose window has already
 * closed is refused (GRANT_ALREADY_EXPIRED: a grant that could never be spent is a caller's mistake,
 * e.g. a backdated start older than the package's duration, not a record worth keeping); otherwise
 * `active`, or `pending` when the caller asked for it (a grant awaiting payment).
 */
export function initialGrantStatus(
  window: { startsAt: Date; expiresAt: Date | null },
  now: Date,
  requested: InitialGrantStatus = 'active',
): GrantCreation {
  if (window.expiresAt !== null && window.expiresAt.getTime() <= now.getTime()) {
    return { ok: false, reason: 'already_expired', expiresAt: window.expiresAt };
  }
  if (window.startsAt.getTime() > now.getTime()) return { ok: true, status: 'pending' };
  return { ok: true, status: requested };
}
