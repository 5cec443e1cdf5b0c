/**
 * Hold rules: when a hold's deadline falls and how far it may move, whether a commit is too big, and
 * when the refund window after a commit closes. Pure: no I/O and no clock of its own
 * (the caller passes `now`), so the reservation workflow applies them in workflow time, the credit
 * engine inside its transaction, and unit tests pin them down.
 *
 * Who checks what (each rule has one checking site):
 * - holdDeadline (HOLD_LIMIT_EXCEEDED): the reservation service when it places a hold (the API's clock,
 *   which also stamps the hold's creation), and the reservation workflow when it extends one (workflow
 *   time; runs started before the API placed holds placed theirs in workflow time too).
 * - requireCommitWithinHold (COMMIT_EXCEEDS_HOLD): the credit engine's commit, the one path every
 *   commit takes (through the workflow, or directly when an operator closed the run).
 * - refundWindowEnd, hasRefundableCredits: the reservation workflow.
 * Whether a commit comes too late is modules/reservations/rules/commit-time.ts (judged by when the API accepted it).
 */
import { BillingError } from '../../../platform/errors';

const SECOND_MS = 1000;

export interface HoldTiming {
  /** The moment the deadline is (re)set: workflow time. */
  now: Date;
  /** How long the hold should last from `now`. */
  holdSeconds: number;
  /** When the hold was created; a hold being placed is created `now`. */
  createdAt: Date;
  /** Longest a hold may last, counted from its creation. */
  maxHoldSeconds: number;
}

/** The latest deadline a hold created at `createdAt` may have. */
export function latestHoldDeadline(createdAt: Date, maxHoldSeconds: number): Date {
  return new Date(createdAt.getTime() + maxHoldSeconds * SECOND_MS);
}

/**
 * The deadline of a hold placed or extended at `now`: `now + holdSeconds`, refused with
 * HOLD_LIMIT_EXCEEDED when that passes `maxHoldSeconds` after the hold's creation (for a hold being
 * placed: when `holdSeconds` exceeds `maxHoldSeconds`).
 */
export function holdDeadline({ now, holdSeconds, createdAt, maxHoldSeconds }: HoldTiming): Date {
  const deadline = new Date(now.getTime() + holdSeconds * SECOND_MS);
  const latest = latestHoldDeadline(createdAt, maxHoldSeconds);
  // `!(a <= b)`, not `a > b`: a holdSeconds so large that the deadline is no date at all is refused too.
  if (!(deadline.getTime() <= latest.getTime())) {
    throw new BillingError('HOLD_LIMIT_EXCEEDED', `A hold may last at most ${maxHoldSeconds} seconds from its creation.`, {
      maxHoldSeconds,
      latestExpiresAt: latest.toISOString(),
    });
  }
  return deadline;
}

/** A commit takes at most the units held; the rest of the hold goes back. */
export function requireCommitWithinHold(held: number, requested: number): void {
  if (requested > held) {
    throw new BillingError('COMMIT_EXCEEDS_HOLD', `Cannot commit ${requested} units; ${held} are held.`, { held, requested });
  }
}

/** After a commit, the reservation takes refunds until this moment (later refunds go to the credit engine). */
export function refundWindowEnd(committedAt: Date, refundWindowSeconds: number): Date {
  return new Date(committedAt.getTime() + refundWindowSeconds * SECOND_MS);
}

/** Whether any of a consumption's cost is left to refund. */
export function hasRefundableCredits(consumption: { creditsCost: number; creditsRefunded: number }): boolean {
  return consumption.creditsRefunded < consumption.creditsCost;
}
