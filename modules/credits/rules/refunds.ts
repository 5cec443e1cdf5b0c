/**
 * Refund rules (docs/architecture.md, "Holds, commits and expiry"). Pure.
 * - A refund is at least 1 credit and at most what is left unrefunded of the consumption.
 * - Credits go back to the grants they came from, last-drawn first (modules/credits/rules/burn-down.ts drawInOrder).
 * - A grant that can no longer be spent from (expired, revoked, or past its expiry) does not come back
 *   to life: its share goes to a replacement `system` grant with the same priority, valid for
 *   `graceDays` from the refund.
 */
import { BillingError } from '../../../platform/errors';
import type { GrantBalance } from './burn-down';

const DAY_MS = 86_400_000;

/** The credits a refund returns: what was asked (default: everything left), or REFUND_EXCEEDS_CONSUMPTION. */
export function refundAmount(consumption: { creditsCost: number; creditsRefunded: number }, requested: number | undefined): number {
  const refundable = consumption.creditsCost - consumption.creditsRefunded;
  const credits = requested ?? refundable;
  if (credits < 1 || credits > refundable) {
    throw new BillingError('REFUND_EXCEEDS_CONSUMPTION', `Cannot refund ${credits} credits; ${refundable} of this consumption are refundable.`, {
      refundable,
      requested: credits,
    });
  }
  return credits;
}

/** Whether refunded credits may go back to this grant (else they go to a replacement grant). */
export function canTakeRefundBack(grant: Pick<GrantBalance, 'status' | 'expiresAt'>, now: Date): boolean {
  return (grant.status === 'active' || grant.status === 'depleted') && (grant.expiresAt === null || grant.expiresAt > now);
}

/** The validity window of a replacement grant. */
export function replacementGrantWindow(now: Date, graceDays: number): { startsAt: Date; expiresAt: Date } {
  return { startsAt: now, expiresAt: new Date(now.getTime() + graceDays * DAY_MS) };
}
