/**
 * When to try a webhook delivery again. Pure (no I/O, workflow-safe): the delivery workflow sleeps on a
 * durable timer for the delay this returns.
 */

/** Svix's published schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (delays between attempts). */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  0,
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
];

/** A receiver's Retry-After may push an attempt later, never beyond this (a bogus header cannot park a delivery). */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * Delay before attempt `nextAttempt` (0-based index into the schedule), or null when the schedule is
 * exhausted (the delivery is a dead letter). A Retry-After asking for longer than the schedule wins,
 * capped at MAX_RETRY_AFTER_MS; a shorter one does not hurry the schedule.
 */
export function nextRetryDelayMs(schedule: readonly number[], nextAttempt: number, retryAfterMs?: number | null): number | null {
  if (nextAttempt >= schedule.length) return null;
  const scheduled = schedule[nextAttempt]!;
  if (retryAfterMs === undefined || retryAfterMs === null || !(retryAfterMs > 0)) return scheduled;
  return Math.max(scheduled, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date (relative to `now`); null if absent or unreadable. */
export function parseRetryAfter(header: string | null | undefined, now: number): number | null {
  if (!header) return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** 2xx delivered; 410 Gone disables the endpoint; anything else (and no answer) is retried. */
export function classifyResponse(status: number | null): 'delivered' | 'gone' | 'retry' {
  if (status !== null && status >= 200 && status < 300) return 'delivered';
  if (status === 410) return 'gone';
  return 'retry';
}
