/**
 * Lifecycle facts (activated, reminder, expired, revoked, expiry_changed, missed_timer, lapsed,
 * renewed), kept in lifecycle_events for the admin API; reminders and expiries also reach the outbox
 * (`package.expiring_soon`, `package.expired`). The dedupe key makes a retried activity record a fact once.
 */
import { Prisma } from '../../generated/prisma/client';
import type { Database, Tx } from '../../platform/database';
import { recordEvent } from '../../platform/outbox/record';

type LifecycleEventKind =
  | 'activated'
  | 'reminder'
  | 'expired'
  | 'revoked'
  | 'expiry_changed'
  | 'missed_timer'
  | 'lapsed'
  | 'released_credits_lapsed';

export interface LifecycleEvent {
  subjectType: 'user_package' | 'subscription';
  subjectId: string;
  userId: string;
  kind: LifecycleEventKind;
  dedupeKey: string;
  details?: Record<string, unknown>;
}

/**
 * Records a fact once (by dedupe key). Answers true when this call recorded it. A package reminder is
 * also the outbox's `package.expiring_soon`, written in the same transaction as the fact, so it is
 * emitted exactly once. (`package.expired` is written by the expiry itself: modules/credits/lifecycle.ts.)
 */
export async function recordLifecycleEvent(db: Database, event: LifecycleEvent): Promise<boolean> {
  return db.$transaction((tx) => recordLifecycleEventIn(tx, event));
}

/** The same in the caller's transaction (the fact commits with the change it records). */
export async function recordLifecycleEventIn(tx: Tx, event: LifecycleEvent): Promise<boolean> {
  const written = await tx.lifecycleEvent.createMany({
    data: [{ ...event, details: (event.details ?? Prisma.JsonNull) as Prisma.InputJsonValue }],
    skipDuplicates: true,
  });
  if (written.count !== 1) return false;
  if (event.kind === 'reminder' && event.subjectType === 'user_package') await recordExpiringSoon(tx, event.subjectId);
  return true;
}

async function recordExpiringSoon(tx: Tx, grantId: string): Promise<void> {
  const grant = await tx.userPackage.findUniqueOrThrow({ where: { id: grantId }, include: { package: { select: { code: true } } } });
  if (!grant.expiresAt) return;
  await recordEvent(tx, {
    type: 'package.expiring_soon',
    userId: grant.userId,
    payload: {
      grantId,
      packageCode: grant.package?.code ?? null,
      expiresAt: grant.expiresAt.toISOString(),
      remainingCredits: grant.totalCredits - grant.usedCredits - grant.reservedCredits,
    },
  });
}

export async function listLifecycleEvents(db: Database, subjectId: string) {
  return db.lifecycleEvent.findMany({ where: { subjectId }, orderBy: { id: 'asc' } });
}
