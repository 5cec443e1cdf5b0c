/**
 * The scheduled jobs' work: the expiry sweep (catches what a timer missed), the reconciliation
 * (reports, changes nothing) and its admin repairs, and the daily consumption rollup. Each run writes
 * a report row (lifecycle_reports) that the admin API reads.
 */
import { randomUUID } from 'node:crypto';
import { BillingError } from '../../platform/errors';
import { Prisma } from '../../generated/prisma/client';
import type { Database } from '../../platform/database';
import { lapseReleasedCredits, realignGrantToLedger, expireOverdueHolds } from '../credits';
import { recordLifecycleEvent } from './events';
import { expirePackage, lapseSubscription } from './subjects';
import type { ScheduledJobInput } from '../../workflows/package-lifecycle-contract';

interface ReportItem {
  /** Stable within the report: `<kind>:<subject id>`; names the item for a repair. */
  id: string;
  kind: string;
  subjectId: string;
  userId: string | null;
  details: Record<string, unknown>;
}

async function writeReport(
  db: Database | Prisma.TransactionClient,
  kind: string,
  input: ScheduledJobInput,
  startedAt: Date,
  summary: Record<string, unknown>,
  items: ReportItem[],
  /** A retried run replaces its report (the rollup's coverage must describe the rows it just wrote). */
  replace = false,
): Promise<string> {
  const id = input.reportId ?? randomUUID();
  await db.lifecycleReport.upsert({
    where: { id },
    create: {
      id,
      kind,
      trigger: input.trigger ?? 'schedule',
      scopeUserId: input.userId ?? null,
      summary: summary as Prisma.InputJsonValue,
      items: items as unknown as Prisma.InputJsonValue,
      startedAt,
      finishedAt: new Date(),
    },
    update: replace ? { summary: summary as Prisma.InputJsonValue, startedAt, finishedAt: new Date() } : {},
  });
  return id;
}

/**
 * Expires every live package past its expires_at (its timer missed it: never started, terminated,
 * worker down for long), lapses credits released onto expired packages, lapses subscriptions past
 * their period end; records each as a `missed_timer` fact and in the report.
 */
export async function runExpirySweep(db: Database, input: ScheduledJobInput = {}, now = new Date()): Promise<string> {
  const startedAt = new Date();
  const scope = input.userId ? { userId: input.userId } : {};
  const items: ReportItem[] = [];
  const overdue = await db.userPackage.findMany({
    where: { ...scope, status: { in: ['pending', 'active', 'depleted'] }, expiresAt: { lte: now } },
    select: { id: true, userId: true, expiresAt: true },
    take: 10_000,
  });
  for (const grant of overdue) {
    const after = await expirePackage(db, grant.id, 'system:expiry-sweep', true);
    if (after?.phase === 'expired') {
      items.push({ id: `missed_timer:${grant.id}`, kind: 'missed_timer', subjectId: grant.id, userId: grant.userId, details: { expiresAt: grant.expiresAt?.toISOString() ?? null } });
    }
  }
  const released = await db.$queryRaw<Array<{ id: string; user_id: string }>>`
    SELECT id, user_id FROM user_packages
    WHERE status IN ('expired', 'revoked') AND total_credits - used_credits - reserved_credits > 0
      AND (${input.userId ?? null}::text IS NULL OR user_id = ${input.userId ?? null}::text)
    LIMIT 10000`;
  for (const grant of released) {
    const lapsed = await lapseReleasedCredits(db, grant.id, { actor: 'system:expiry-sweep', reference: grant.id });
    if (lapsed > 0) {
      await recordLifecycleEvent(db, {
        subjectType: 'user_package', subjectId: grant.id, userId: grant.user_id, kind: 'released_credits_lapsed',
        dedupeKey: `user_package:${grant.id}:lapsed:${randomUUID()}`, details: { credits: lapsed },
      });
      items.push({ id: `released_credits_lapsed:${grant.id}`, kind: 'released_credits_lapsed', subjectId: grant.id, userId: grant.user_id, details: { credits: lapsed } });
    }
  }
  const subscriptions = await db.subscription.findMany({ where: { ...scope, status: 'active', currentPeriodEnd: { lte: now } }, select: { id: true, userId: true } });
  for (const subscription of subscriptions) {
    const after = await lapseSubscription(db, subscription.id, now);
    if (after?.phase === 'expired') {
      items.push({ id: `subscription_lapsed:${subscription.id}`, kind: 'subscription_lapsed', subjectId: subscription.id, userId: subscription.userId, details: {} });
    }
  }
  const orphanHolds = await expireOverdueHolds(db, now, input.userId);
  for (const hold of orphanHolds) {
    items.push({ id: `orphan_hold_expired:${hold.id}`, kind: 'orphan_hold_expired', subjectId: hold.id, userId: hold.userId, details: { expiresAt: hold.expiresAt.toISOString() } });
  }
  const summary = {
    expiredPackages: items.filter((i) => i.kind === 'missed_timer').length,
    lapsedReleases: released.length,
    lapsedSubscriptions: subscriptions.length,
    expiredOrphanHolds: orphanHolds.length,
  };
  return writeReport(db, 'sweep', input, startedAt, summary, items);
}

/** Orders paid this long ago and still not provisioned are reported (younger ones are in flight). */
const PROVISIONING_GRACE_MS = 10 * 60_000;

/**
 * Checks, and changes nothing: the ledger invariant for every grant (and so every user), orders paid
 * but not provisioned, orders provisioned without a payment.
 */
export async function runReconciliation(db: Database, input: ScheduledJobInput = {}, now = new Date()): Promise<string> {
  const startedAt = new Date();
  const userId = input.userId ?? null;
  const mismatches = await db.$queryRaw<Array<{ id: string; user_id: string; total: number; used: number; reserved: number; l_available: number; l_reserved: number; l_used: number }>>`
    SELECT g.id, g.user_id, g.total_credits AS total, g.used_credits AS used, g.reserved_credits AS reserved,
           COALESCE(SUM(l.amount), 0)::int AS l_available, COALESCE(SUM(l.reserved_delta), 0)::int AS l_reserved,
           COALESCE(SUM(l.used_delta), 0)::int AS l_used
    FROM user_packages g LEFT JOIN credit_ledger_entries l ON l.user_package_id = g.id
    WHERE ${userId}::text IS NULL OR g.user_id = ${userId}::text
    GROUP BY g.id
    HAVING g.total_credits - g.used_credits - g.reserved_credits < 0
        OR COALESCE(SUM(l.amount), 0) <> g.total_credits - g.used_credits - g.reserved_credits
        OR COALESCE(SUM(l.reserved_delta), 0) <> g.reserved_credits
        OR COALESCE(SUM(l.used_delta), 0) <> g.used_credits`;
  const items: ReportItem[] = mismatches.map((m) => ({
    id: `grant_ledger_mismatch:${m.id}`,
    kind: 'grant_ledger_mismatch',
    subjectId: m.id,
    userId: m.user_id,
    details: {
      columns: { available: m.total - m.used - m.reserved, reserved: m.reserved, used: m.used },
      ledger: { available: m.l_available, reserved: m.l_reserved, used: m.l_used },
    },
  }));
  const unprovisioned = await db.$queryRaw<Array<{ id: string; user_id: string; status: string; paid_at: Date }>>`
    SELECT o.id, o.user_id, o.status::text AS status, p.paid_at
    FROM orders o JOIN order_payments p ON p.order_id = o.id
    WHERE o.status IN ('paid', 'provisioning', 'pending_payment', 'expired', 'cancelled') AND o.grant_id IS NULL
      AND p.paid_at < ${new Date(now.getTime() - PROVISIONING_GRACE_MS)}
      AND (${userId}::text IS NULL OR o.user_id = ${userId}::text)`;
  for (const order of unprovisioned) {
    items.push({ id: `paid_not_provisioned:${order.id}`, kind: 'paid_not_provisioned', subjectId: order.id, userId: order.user_id, details: { status: order.status, paidAt: order.paid_at.toISOString() } });
  }
  const unpaid = await db.$queryRaw<Array<{ id: string; user_id: string; status: string; grant_id: string | null }>>`
    SELECT o.id, o.user_id, o.status::text AS status, o.grant_id
    FROM orders o LEFT JOIN order_payments p ON p.order_id = o.id
    WHERE p.order_id IS NULL AND (o.grant_id IS NOT NULL OR o.status IN ('completed', 'provisioning'))
      AND (${userId}::text IS NULL OR o.user_id = ${userId}::text)`;
  for (const order of unpaid) {
    items.push({ id: `provisioned_without_payment:${order.id}`, kind: 'provisioned_without_payment', subjectId: order.id, userId: order.user_id, details: { status: order.status, grantId: order.grant_id } });
  }
  const usersAffected = new Set(mismatches.map((m) => m.user_id)).size;
  const summary = { grantLedgerMismatches: mismatches.length, usersWithMismatches: usersAffected, paidNotProvisioned: unprovisioned.length, provisionedWithoutPayment: unpaid.length };
  return writeReport(db, 'reconciliation', input, startedAt, summary, items);
}

export interface RepairActions {
  /** Re-drives an order's provisioning (the order workflow with its recorded payment). */
  reprovisionOrder(orderId: string, userId: string): Promise<void>;
}

/** An admin's repair of one listed reconciliation item. */
export async function repairReportItem(db: Database, reportId: string, itemId: string, actions: RepairActions, actor: string): Promise<{ itemId: string; action: string; result: unknown }> {
  const report = await db.lifecycleReport.findUnique({ where: { id: reportId } });
  if (!report || report.kind !== 'reconciliation') throw new BillingError('NOT_FOUND', `Reconciliation report ${reportId} not found.`);
  const item = (report.items as unknown as ReportItem[]).find((candidate) => candidate.id === itemId);
  if (!item) throw new BillingError('NOT_FOUND', `Report ${reportId} lists no item ${itemId}.`);
  if (item.kind === 'grant_ledger_mismatch') {
    const result = await realignGrantToLedger(db, item.subjectId);
    await recordLifecycleEvent(db, { subjectType: 'user_package', subjectId: item.subjectId, userId: item.userId ?? '', kind: 'expiry_changed', dedupeKey: `repair:${reportId}:${itemId}`, details: { repair: 'realign_to_ledger', actor, ...result } });
    return { itemId, action: 'realigned_to_ledger', result };
  }
  if (item.kind === 'paid_not_provisioned') {
    await actions.reprovisionOrder(item.subjectId, item.userId ?? '');
    return { itemId, action: 'reprovisioning_started', result: null };
  }
  throw new BillingError('PACKAGE_STATE_CONFLICT', `Items of kind ${item.kind} have no automatic repair; resolve them by hand.`, { kind: item.kind });
}

/** Where the rollup rows are exact: whole UTC days [coveredFrom, coveredTo), as of `watermark`. */
export interface RollupCoverage {
  coveredFrom: string;
  coveredTo: string;
  /** Instant the rebuild read the consumptions; refunds created since are not in the rows. */
  watermark: string;
}

/** A day is closed (and only then rolled up as final) this long after its midnight: a consumption stamped just before midnight may commit a little after. */
const CLOSED_DAY_MARGIN_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

/** 'YYYY-MM-DD' of a UTC midnight: a date literal, so no session time zone shifts it. */
function isoDay(midnight: Date): string {
  return midnight.toISOString().slice(0, 10);
}

function startOfUtcDay(instant: Date): Date {
  return new Date(Date.UTC(instant.getUTCFullYear(), instant.getUTCMonth(), instant.getUTCDate()));
}

/** The coverage the latest rollup recorded, or null before the first one. */
export async function latestRollupCoverage(db: Database | Prisma.TransactionClient): Promise<RollupCoverage | null> {
  const [report] = await db.$queryRaw<Array<{ summary: Partial<RollupCoverage> }>>`
    SELECT summary FROM lifecycle_reports WHERE kind = 'rollup' ORDER BY started_at DESC LIMIT 1`;
  const summary = report?.summary;
  if (!summary?.coveredFrom || !summary.coveredTo || !summary.watermark) return null;
  return { coveredFrom: summary.coveredFrom, coveredTo: summary.coveredTo, watermark: summary.watermark };
}

/**
 * Rebuilds the daily rollup rows of the last `days` UTC days (default 3: late refunds land), and of
 * every older day with a consumption refunded since the previous run (every day on the first run), so
 * the rows stay exact for all the days they cover. Records that coverage (in the same transaction as the rows) for the reports:
 * days [coveredFrom, coveredTo) are exact as of the watermark.
 */
export async function runConsumptionRollup(db: Database, input: ScheduledJobInput = {}, days = 3, now = new Date()): Promise<string> {
  const startedAt = new Date();
  const window = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (days - 1)));
  return db.$transaction(
    async (tx) => {
      // One rebuild at a time: the coverage recorded last must describe the rows written last.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('daily_consumption_rollups'))`;
      const previous = await latestRollupCoverage(tx);
      // The first run rebuilds every day, and a run after a gap (an outage longer than the window)
      // starts where the previous coverage ends, so the covered days stay one contiguous range.
      const from = previous ? new Date(Math.min(window.getTime(), Date.parse(previous.coveredTo))) : new Date(0);
      const refundedDays = previous ? await daysRefundedSince(tx, new Date(Date.parse(previous.watermark) - CLOSED_DAY_MARGIN_MS), from) : [];
      const rebuilt = [Prisma.sql`created_at >= ${from}`, ...refundedDays.map((day) => Prisma.sql`(created_at >= ${day} AND created_at < ${new Date(day.getTime() + DAY_MS)})`)];
      await tx.$executeRaw`DELETE FROM daily_consumption_rollups WHERE day >= ${isoDay(from)}::date ${
        refundedDays.length > 0 ? Prisma.sql`OR day IN (${Prisma.join(refundedDays.map((day) => Prisma.sql`${isoDay(day)}::date`))})` : Prisma.empty
      }`;
      // ON CONFLICT: kept for a rebuild that runs without the lock (an older worker still running).
      // The watermark is read inside the INSERT's own statement, after its snapshot was taken: every
      // refund the rows include was stamped before it, so a reader adding refunds stamped since never
      // counts one twice. A refund stamped before it but committed after is in neither until the next
      // run, which rebuilds its day (it looks back a margin before this watermark).
      const [written] = await tx.$queryRaw<Array<{ watermark: Date; rows: bigint }>>`
        WITH mark AS MATERIALIZED (SELECT clock_timestamp() AS at),
        written AS (
          INSERT INTO daily_consumption_rollups (day, action_key, consumptions, quantity, credits_cost, credits_refunded, users, updated_at)
          SELECT (created_at AT TIME ZONE 'UTC')::date, action_key, count(*)::int, sum(quantity)::int, sum(credits_cost)::int,
                 sum(credits_refunded)::int, count(DISTINCT user_id)::int, (SELECT at FROM mark)
          FROM consumption_records WHERE ${Prisma.join(rebuilt, ' OR ')}
          GROUP BY 1, 2
          ON CONFLICT (day, action_key) DO UPDATE SET
            consumptions = EXCLUDED.consumptions, quantity = EXCLUDED.quantity, credits_cost = EXCLUDED.credits_cost,
            credits_refunded = EXCLUDED.credits_refunded, users = EXCLUDED.users, updated_at = EXCLUDED.updated_at
          RETURNING 1)
        SELECT (SELECT at FROM mark) AS watermark, (SELECT count(*) FROM written) AS rows`;
      const watermark = written!.watermark;
      const coveredTo = startOfUtcDay(new Date(watermark.getTime() - CLOSED_DAY_MARGIN_MS));
      const coveredFrom = previous ? new Date(Math.min(Date.parse(previous.coveredFrom), from.getTime())) : from;
      const coverage: RollupCoverage = { coveredFrom: coveredFrom.toISOString(), coveredTo: coveredTo.toISOString(), watermark: watermark.toISOString() };
      const summary = { from: from.toISOString(), rows: Number(written!.rows), refundedDays: refundedDays.map((day) => day.toISOString().slice(0, 10)), ...coverage };
      return writeReport(tx, 'rollup', input, startedAt, summary, [], true);
    },
    { timeout: 10 * 60_000 },
  );
}

/** UTC days before `before` holding a consumption refunded since `since`: their refunded sums moved. */
async function daysRefundedSince(tx: Prisma.TransactionClient, since: Date, before: Date): Promise<Date[]> {
  const rows = await tx.$queryRaw<Array<{ day: Date }>>`
    SELECT DISTINCT date_trunc('day', c.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day
    FROM consumption_refunds r JOIN consumption_records c ON c.id = r.consumption_id
    WHERE r.created_at >= ${since} AND c.created_at < ${before}
    ORDER BY 1`;
  return rows.map((row) => row.day);
}
