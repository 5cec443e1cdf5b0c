/**
 * Lifecycle facts (activated, reminder, expired, revoked, expiry_changed, missed_timer, lapsed,
 * renewed). recordLifecycleEvent is the hook the events feature points at its outbox
 * (`package.expiring_soon` for reminders, `package.expired` for expiry); until then the facts are
 * kept in lifecycle_events. The dedupe key makes a retried activity record a fact once.
 */
import { Prisma } from '../generated/prisma/client';
import type { Database, Tx } from '../infra/database';

export type LifecycleEventKind =
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

/** Records a fact once (by dedupe key). Answers true when this call recorded it. */
export async function recordLifecycleEvent(db: Database | Tx, event: LifecycleEvent): Promise<boolean> {
  const written = await db.lifecycleEvent.createMany({
    data: [{ ...event, details: (event.details ?? Prisma.JsonNull) as Prisma.InputJsonValue }],
    skipDuplicates: true,
  });
  return written.count === 1;
}

export async function listLifecycleEvents(db: Database, subjectId: string) {
  return db.lifecycleEvent.findMany({ where: { subjectId }, orderBy: { id: 'asc' } });
}
