/**
 * When a commit counts: the time the API accepted it, not the time a worker got round to it.
 * Pure and workflow-safe (the reservation workflow's commit validator applies it).
 *
 * A commit the API accepted before the hold's deadline is honoured even if the worker only sees it
 * after the deadline (e.g. the worker was down), as card networks count the authorization time, but
 * only within a grace period after the deadline: a commit that reaches the workflow later than
 * `deadline + grace` is refused, so a hold cannot stay pinned indefinitely by an old request.
 * Without `acceptedAt` (a request from before this rule) the commit is judged at `now`, as before.
 */

/** Default grace (COMMIT_GRACE_MS) for a commit accepted before the deadline but applied after it. */
export const DEFAULT_COMMIT_GRACE_MS = 60_000;

export interface CommitTiming {
  /** When the API accepted the commit (ISO-8601 or epoch ms); undefined for requests that carry none. */
  acceptedAt?: string | number | undefined;
  /** The hold's deadline (reservation.expiresAt). */
  deadline: string | number;
  /** When the workflow judges the commit (workflow time). */
  now: number;
  /** How long after the deadline an early-accepted commit may still be applied. */
  graceMs: number;
}

export type CommitTimeVerdict = 'allowed' | 'accepted_after_deadline' | 'grace_expired';

const toMs = (value: string | number): number => (typeof value === 'number' ? value : Date.parse(value));

/**
 * The verdict for one commit. The deadline itself is too late (a hold lasts until, not through, its
 * deadline); so is `deadline + graceMs`. An `acceptedAt` after `now` (clock skew between API and
 * worker) is clamped to `now`, so skew can never make a late commit look early.
 */
export function commitTimeVerdict({ acceptedAt, deadline, now, graceMs }: CommitTiming): CommitTimeVerdict {
  const deadlineMs = toMs(deadline);
  const acceptedMs = acceptedAt === undefined ? now : Math.min(toMs(acceptedAt), now);
  if (!(acceptedMs < deadlineMs)) return 'accepted_after_deadline';
  if (!(now < deadlineMs + Math.max(0, graceMs))) return 'grace_expired';
  return 'allowed';
}

export function commitAllowed(timing: CommitTiming): boolean {
  return commitTimeVerdict(timing) === 'allowed';
}
