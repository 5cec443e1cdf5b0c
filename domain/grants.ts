/**
 * Rules for a grant's validity window. Pure: the credit engine and (later) the package lifecycle
 * workflow compute expiry the same way.
 */

const DAY_MS = 86_400_000;

/** A grant of a package lasts the package's duration from its start; no duration means it never expires. */
export function grantExpiry(startsAt: Date, durationDays: number | null): Date | null {
  return durationDays === null ? null : new Date(startsAt.getTime() + durationDays * DAY_MS);
}
