/**
 * What the lifecycle timers do when they wake, each step re-reading the database (the record) and
 * acting only if it agrees: activate a pending package, record a reminder if the expiry is still
 * the one the reminder was for, expire a package, lapse a subscription whose period has ended.
 */
import type { LifecyclePhase } from './rules/lifecycle';
import type { GrantStatus } from '../../generated/prisma/enums';
import type { Database } from '../../platform/database';
import { activateGrant, expireGrant, findGrantTimes, type GrantTimes } from '../credits';
import { BillingError } from '../../platform/errors';
import type { SubjectSnapshot } from '../../workflows/package-lifecycle-contract';
import { recordLifecycleEvent, recordLifecycleEventIn } from './events';

export function grantPhase(status: GrantStatus, expiresAt: Date | null): LifecyclePhase {
  if (status === 'pending') return 'pending';
  if (status === 'active' || status === 'depleted') return expiresAt === null ? 'permanent' : 'active';
  return status; // expired | revoked
}

export const grantSnapshot = (grant: GrantTimes | null): SubjectSnapshot | null =>
  grant && { phase: grantPhase(grant.status, grant.expiresAt), startsAt: grant.startsAt.toISOString(), expiresAt: grant.expiresAt?.toISOString() ?? null };

export async function loadPackageSnapshot(db: Database, grantId: string): Promise<SubjectSnapshot | null> {
  return grantSnapshot(await findGrantTimes(db, grantId));
}

/** `asOf`: the timer's clock (the workflow's time, which a time-skipping test server moves ahead); never earlier than now. */
const asOfTime = (asOf?: number): Date => new Date(Math.max(Date.now(), asOf ?? 0));

export async function activatePackage(db: Database, grantId: string, asOf?: number): Promise<SubjectSnapshot | null> {
  const grant = await findGrantTimes(db, grantId);
  if (!grant) return null;
  const activated = await activateGrant(db, grantId, asOfTime(asOf));
  if (grant.status === 'pending' && activated.status !== 'pending') {
    await recordLifecycleEvent(db, { subjectType: 'user_package', subjectId: grantId, userId: grant.userId, kind: 'activated', dedupeKey: `user_package:${grantId}:activated` });
  }
  return grantSnapshot(activated);
}

/** Records the reminder for (expiry, lead) unless the package was extended or is gone meanwhile. */
export async function remindPackage(db: Database, grantId: string, expiresAt: string, leadDays: number): Promise<SubjectSnapshot | null> {
  const grant = await findGrantTimes(db, grantId);
  const snapshot = grantSnapshot(grant);
  if (grant && snapshot?.phase === 'active' && snapshot.expiresAt === expiresAt) {
    await recordLifecycleEvent(db, {
      subjectType: 'user_package',
      subjectId: grantId,
      userId: grant.userId,
      kind: 'reminder',
      dedupeKey: `user_package:${grantId}:reminder:${expiresAt}:${leadDays}`,
      details: { expiresAt, leadDays },
    });
  }
  return snapshot;
}

/**
 * Expires the package if its expiry has come (the database decides), voiding what is left; the
 * `expired` (or `missed_timer`) fact is written in the expiry's own transaction: one commit per package.
 */
export async function expirePackage(db: Database, grantId: string, actor = 'system:lifecycle', missedTimer = false, asOf?: number): Promise<SubjectSnapshot | null> {
  try {
    const result = await expireGrant(db, grantId, { actor, reference: grantId }, asOfTime(asOf), async (tx, { grant, voidedCredits }) => {
      await recordLifecycleEventIn(tx, {
        subjectType: 'user_package',
        subjectId: grantId,
        userId: grant.userId,
        kind: missedTimer ? 'missed_timer' : 'expired',
        dedupeKey: `user_package:${grantId}:expired`,
        details: { expiresAt: grant.expiresAt?.toISOString() ?? null, voidedCredits, by: actor },
      });
    });
    return grantSnapshot(result.grant);
  } catch (error) {
    // A package that does not exist has nothing to expire (the timer ends).
    if (error instanceof BillingError && error.code === 'NOT_FOUND') return null;
    throw error;
  }
}

// ---- subscriptions ----

export function subscriptionSnapshot(subscription: { status: string; currentPeriodStart: Date; currentPeriodEnd: Date | null } | null): SubjectSnapshot | null {
  if (!subscription) return null;
  const phase: LifecyclePhase =
    subscription.status === 'active' ? (subscription.currentPeriodEnd === null ? 'permanent' : 'active') : subscription.status === 'expired' ? 'expired' : 'revoked';
  return { phase, startsAt: subscription.currentPeriodStart.toISOString(), expiresAt: subscription.currentPeriodEnd?.toISOString() ?? null };
}

export async function loadSubscriptionSnapshot(db: Database, subscriptionId: string): Promise<SubjectSnapshot | null> {
  return subscriptionSnapshot(await db.subscription.findUnique({ where: { id: subscriptionId } }));
}

export async function remindSubscription(db: Database, subscriptionId: string, periodEnd: string, leadDays: number): Promise<SubjectSnapshot | null> {
  const subscription = await db.subscription.findUnique({ where: { id: subscriptionId } });
  const snapshot = subscriptionSnapshot(subscription);
  if (subscription && snapshot?.phase === 'active' && snapshot.expiresAt === periodEnd) {
    await recordLifecycleEvent(db, {
      subjectType: 'subscription',
      subjectId: subscriptionId,
      userId: subscription.userId,
      kind: 'reminder',
      dedupeKey: `subscription:${subscriptionId}:reminder:${periodEnd}:${leadDays}`,
      details: { periodEnd, leadDays },
    });
  }
  return snapshot;
}

/** Lapses an active subscription whose period has ended (not renewed): status expired. Guarded in SQL. */
export async function lapseSubscription(db: Database, subscriptionId: string, now = new Date()): Promise<SubjectSnapshot | null> {
  now = new Date(Math.max(now.getTime(), Date.now()));
  const lapsed = await db.subscription.updateMany({
    where: { id: subscriptionId, status: 'active', currentPeriodEnd: { lte: now } },
    data: { status: 'expired' },
  });
  const subscription = await db.subscription.findUnique({ where: { id: subscriptionId } });
  if (lapsed.count === 1 && subscription) {
    await recordLifecycleEvent(db, {
      subjectType: 'subscription',
      subjectId: subscriptionId,
      userId: subscription.userId,
      kind: 'lapsed',
      dedupeKey: `subscription:${subscriptionId}:lapsed:${subscription.currentPeriodEnd?.toISOString()}`,
      details: { periodEnd: subscription.currentPeriodEnd?.toISOString() ?? null },
    });
  }
  return subscriptionSnapshot(subscription);
}
