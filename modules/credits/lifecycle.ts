/**
 * The credit engine's side of a grant's lifecycle: activate at starts_at, expire at expires_at
 * (void what is left with an `expire` ledger entry), revoke, and move the expiry. Each is one
 * transaction under the user's lock and idempotent: repeating it finds the grant already in its
 * final state and writes nothing. Called by the lifecycle timers, the sweep and the admin API.
 *
 * Holds (docs/architecture.md, "Holds, commits and expiry"): a hold pins its credits on the grant
 * past expiry; only the available credits are voided. Credits released after expiry come back to
 * the expired grant (not spendable) and lapse: `lapseReleasedCredits` voids them (the sweep runs it).
 */
import { availableCredits } from './rules/burn-down';
import { hasExpiredAt } from '../lifecycle/rules/lifecycle';
import { BillingError } from '../../platform/errors';
import type { GrantStatus } from '../../generated/prisma/enums';
import type { Database, Tx } from '../../platform/database';
import { applyMovements } from './ledger';
import { lockUserCredits } from './locks';
import { afterBalanceChange, recordEvent } from './events';

export interface GrantTimes {
  id: string;
  userId: string;
  status: GrantStatus;
  startsAt: Date;
  expiresAt: Date | null;
}

const LIVE: GrantStatus[] = ['pending', 'active', 'depleted'];

function isLiveGrant(status: GrantStatus): boolean {
  return LIVE.includes(status);
}

async function lockedGrant(tx: Tx, grantId: string) {
  const found = await tx.userPackage.findUnique({ where: { id: grantId }, select: { userId: true } });
  if (!found) throw new BillingError('NOT_FOUND', `User package ${grantId} not found.`, { userPackageId: grantId });
  await lockUserCredits(tx, found.userId);
  return tx.userPackage.findUniqueOrThrow({ where: { id: grantId } });
}

const times = (g: GrantTimes): GrantTimes => ({ id: g.id, userId: g.userId, status: g.status, startsAt: g.startsAt, expiresAt: g.expiresAt });

export async function findGrantTimes(db: Database | Tx, grantId: string): Promise<GrantTimes | null> {
  return db.userPackage.findUnique({ where: { id: grantId }, select: { id: true, userId: true, status: true, startsAt: true, expiresAt: true } });
}

/**
 * A pending grant whose start has come becomes spendable (active, or depleted if it holds nothing).
 * The user's balance rises: the balance-low rule notes it (a balance that reached the threshold can
 * later fall below it).
 */
export async function activateGrant(db: Database, grantId: string, now = new Date()): Promise<GrantTimes> {
  return db.$transaction(async (tx) => {
    const grant = await lockedGrant(tx, grantId);
    if (grant.status !== 'pending' || grant.startsAt > now) return times(grant);
    const status: GrantStatus = availableCredits(grant) > 0 ? 'active' : 'depleted';
    const activated = await tx.userPackage.update({ where: { id: grantId }, data: { status } });
    await afterBalanceChange(tx, grant.userId);
    return times(activated);
  });
}

export interface ExpiryResult {
  grant: GrantTimes;
  /** true when this call expired it (false: not due yet, or already final). */
  expired: boolean;
  voidedCredits: number;
}

/**
 * Expires a live grant whose expires_at has passed: voids its available credits (`expire` entry)
 * and marks it expired; held credits stay pinned until their hold settles. `whenExpired` runs in the
 * same transaction, only when this call expired the grant: what the caller records about the expiry
 * (the lifecycle fact) commits with it or not at all, in one commit.
 */
export async function expireGrant(
  db: Database,
  grantId: string,
  context: { actor: string; reference: string },
  now = new Date(),
  whenExpired?: (tx: Tx, expiry: { grant: GrantTimes; voidedCredits: number }) => Promise<void>,
): Promise<ExpiryResult> {
  return db.$transaction(async (tx) => {
    const grant = await lockedGrant(tx, grantId);
    if (!isLiveGrant(grant.status) || grant.expiresAt === null || grant.expiresAt > now) {
      return { grant: times(grant), expired: false, voidedCredits: 0 };
    }
    const voided = availableCredits(grant);
    if (voided > 0) {
      await applyMovements(tx, { userId: grant.userId, referenceType: 'grant', referenceId: context.reference, actor: context.actor }, [
        { grantId, entryType: 'expire', amount: -voided },
      ]);
    }
    const updated = await tx.userPackage.update({ where: { id: grantId }, data: { status: 'expired' } });
    const billingPackage = grant.packageId ? await tx.billingPackage.findUnique({ where: { id: grant.packageId }, select: { code: true } }) : null;
    await recordEvent(tx, {
      type: 'package.expired',
      userId: grant.userId,
      payload: { grantId, packageCode: billingPackage?.code ?? null, expiredAt: grant.expiresAt.toISOString(), lapsedCredits: voided },
    });
    await afterBalanceChange(tx, grant.userId);
    await whenExpired?.(tx, { grant: times(grant), voidedCredits: voided });
    return { grant: times(updated), expired: true, voidedCredits: voided };
  });
}

/** Credits that came back to an expired or revoked grant (a hold released after expiry) lapse: voided with an `expire` entry. */
export async function lapseReleasedCredits(db: Database, grantId: string, context: { actor: string; reference: string }): Promise<number> {
  return db.$transaction(async (tx) => {
    const grant = await lockedGrant(tx, grantId);
    const left = availableCredits(grant);
    if (isLiveGrant(grant.status) || left <= 0) return 0;
    await applyMovements(tx, { userId: grant.userId, referenceType: 'grant', referenceId: context.reference, actor: context.actor }, [
      { grantId, entryType: 'expire', amount: -left },
    ]);
    return left;
  });
}

/**
 * Refuses a change to a grant that is over: final by status (expired, revoked), or past its expiry
 * instant at `now` though its timer has not marked it yet (modules/lifecycle/rules/lifecycle.ts, `hasExpiredAt`).
 */
function refuseUnlessLiveAt(grant: GrantTimes, now: Date, change: string): void {
  if (!isLiveGrant(grant.status)) {
    throw new BillingError('PACKAGE_STATE_CONFLICT', `User package is ${grant.status}; ${change}.`, { status: grant.status });
  }
  if (hasExpiredAt(grant.expiresAt?.getTime() ?? null, now.getTime())) {
    const expiredAt = grant.expiresAt!.toISOString();
    throw new BillingError('PACKAGE_STATE_CONFLICT', `User package expired at ${expiredAt}; ${change}.`, { status: 'expired', expiresAt: expiredAt });
  }
}

/**
 * Revokes a live grant: its available credits are taken back (`adjust` entry); holds on it still
 * settle. A grant already revoked, expired, or past its expiry is refused (PACKAGE_STATE_CONFLICT); a
 * retried request is answered by its idempotency key before it gets here (modules/lifecycle/service.ts).
 */
export async function revokeGrantIn(tx: Tx, grantId: string, context: { actor: string; reference: string }, now = new Date()): Promise<ExpiryResult> {
  const grant = await lockedGrant(tx, grantId);
  refuseUnlessLiveAt(grant, now, 'only a live package can be revoked');
  const voided = availableCredits(grant);
  if (voided > 0) {
    await applyMovements(tx, { userId: grant.userId, referenceType: 'grant', referenceId: context.reference, actor: context.actor }, [
      { grantId, entryType: 'adjust', amount: -voided },
    ]);
  }
  const updated = await tx.userPackage.update({ where: { id: grantId }, data: { status: 'revoked' } });
  await afterBalanceChange(tx, grant.userId);
  return { grant: times(updated), expired: true, voidedCredits: voided };
}

export async function revokeGrant(db: Database, grantId: string, context: { actor: string; reference: string }, now = new Date()): Promise<ExpiryResult> {
  return db.$transaction((tx) => revokeGrantIn(tx, grantId, context, now));
}

/**
 * Moves a live grant's expiry (null: never expires). Answers the grant before and after. A grant
 * already over (see `refuseUnlessLiveAt`) is refused: moving its expiry would revive lost credits.
 */
export async function changeGrantExpiryIn(tx: Tx, grantId: string, expiresAt: Date | null, now = new Date()): Promise<{ before: GrantTimes; after: GrantTimes }> {
  const grant = await lockedGrant(tx, grantId);
  refuseUnlessLiveAt(grant, now, 'its expiry can no longer change');
  if (expiresAt !== null && expiresAt <= grant.startsAt) {
    throw new BillingError('VALIDATION_FAILED', 'expiresAt must be after the package starts.', { startsAt: grant.startsAt.toISOString() });
  }
  const updated = await tx.userPackage.update({ where: { id: grantId }, data: { expiresAt } });
  return { before: times(grant), after: times(updated) };
}

export async function changeGrantExpiry(db: Database, grantId: string, expiresAt: Date | null, now = new Date()): Promise<{ before: GrantTimes; after: GrantTimes }> {
  return db.$transaction((tx) => changeGrantExpiryIn(tx, grantId, expiresAt, now));
}

/**
 * Admin repair of a grant whose balance columns disagree with its ledger: the ledger is the record,
 * so the columns are set to its sums. The one write of balance columns outside ledger.ts, and only
 * on an admin's explicit request for a listed reconciliation item.
 */
export async function realignGrantToLedger(db: Database, grantId: string): Promise<{ before: Record<string, number>; after: Record<string, number> }> {
  return db.$transaction(async (tx) => {
    const grant = await lockedGrant(tx, grantId);
    const [sums] = await tx.$queryRaw<Array<{ available: number; reserved: number; used: number }>>`
      SELECT COALESCE(SUM(amount), 0)::int AS available, COALESCE(SUM(reserved_delta), 0)::int AS reserved, COALESCE(SUM(used_delta), 0)::int AS used
      FROM credit_ledger_entries WHERE user_package_id = ${grantId}::uuid`;
    const after = { total: sums!.available + sums!.reserved + sums!.used, used: sums!.used, reserved: sums!.reserved };
    await tx.userPackage.update({ where: { id: grantId }, data: { totalCredits: after.total, usedCredits: after.used, reservedCredits: after.reserved } });
    await afterBalanceChange(tx, grant.userId);
    return { before: { total: grant.totalCredits, used: grant.usedCredits, reserved: grant.reservedCredits }, after };
  });
}
