/**
 * The daily inspection: checks, and changes nothing. It walks the users in pages (keyset over user
 * ids, one short read transaction per page) so it stays cheap on a large table, and finds:
 * - ledger_mismatch: a grant whose balance columns disagree with its ledger entries;
 * - hold_past_deadline: a reservation still held past its deadline (plus a grace for the expiry path);
 * - grant_past_expiry: a grant still live past its expiry (plus a grace for the expiry sweep);
 * - paid_not_provisioned: an order paid but without its grant;
 * - dead_letters: webhook deliveries that gave up (a count, not per row).
 * It writes one lifecycle report (kind `inspection`), which the findings gauge reads, and when something is
 * found records an `inspection.findings` event through the outbox and mails the operator address.
 */
import { randomUUID } from 'node:crypto';
import { Gauge } from 'prom-client';
import type { Prisma } from '../../generated/prisma/client';
import type { Database } from '../../platform/database';
import { metricsRegistry } from '../../platform/metrics';
import { recordEvent } from '../../platform/outbox/record';
import type { ScheduledJobInput } from '../../workflows/package-lifecycle-contract';

export const INSPECTION_FINDING_KINDS = ['ledger_mismatch', 'hold_past_deadline', 'grant_past_expiry', 'paid_not_provisioned', 'dead_letters'] as const;
export type InspectionFindingKind = (typeof INSPECTION_FINDING_KINDS)[number];

/**
 * Findings of the latest stored inspection per kind, read from its report at scrape time: a worker that
 * restarted, or a replica that did not run it, reports the same counts (aggregate with max). The read is
 * one indexed lookup (lifecycle_reports (kind, started_at)), cached for FINDINGS_CACHE_MS so it does not
 * follow the scrape rate; a run in this process refreshes the cache with its own counts. Without a
 * database to read (`readInspectionFindingsFrom` not called) it shows this process's last run, if any.
 */
export const FINDINGS_CACHE_MS = 5_000;

let findingsSource: (() => Database) | undefined;
let cachedFindings: { readAt: number; counts: Record<string, number> | null } | undefined;
let pendingRead: Promise<void> | undefined;

/** The database the findings gauge reads at scrape time (the worker's, set at start). */
export function readInspectionFindingsFrom(source: () => Database): void {
  findingsSource = source;
  cachedFindings = undefined;
}

/** Counts by kind of the latest inspection report (null: none yet). */
export async function latestInspectionFindings(db: Database): Promise<Record<string, number> | null> {
  const [latest] = await db.$queryRaw<Array<{ summary: { byKind?: Record<string, number> } | null }>>`
    SELECT summary FROM lifecycle_reports WHERE kind = 'inspection' ORDER BY started_at DESC LIMIT 1`;
  return latest ? (latest.summary?.byKind ?? {}) : null;
}

async function refreshFindings(): Promise<void> {
  const source = findingsSource;
  if (!source || (cachedFindings && Date.now() - cachedFindings.readAt < FINDINGS_CACHE_MS)) return;
  pendingRead ??= latestInspectionFindings(source())
    .then((counts) => {
      cachedFindings = { readAt: Date.now(), counts };
    })
    // Database down: the last values stay; /readyz says why.
    .catch(() => undefined)
    .finally(() => {
      pendingRead = undefined;
    });
  await pendingRead;
}

export const inspectionFindings = new Gauge({
  name: 'billing_inspection_findings',
  help: 'Findings of the latest daily inspection (its stored report), by kind (ledger_mismatch, hold_past_deadline, grant_past_expiry, paid_not_provisioned, dead_letters); no sample before the first report.',
  labelNames: ['kind'] as const,
  registers: [metricsRegistry],
  async collect() {
    await refreshFindings();
    const counts = cachedFindings?.counts;
    if (!counts) return;
    for (const kind of INSPECTION_FINDING_KINDS) this.set({ kind }, counts[kind] ?? 0);
  },
});

interface Finding {
  id: string;
  kind: InspectionFindingKind;
  subjectId: string;
  userId: string | null;
  details: Record<string, unknown>;
}

export interface InspectionOptions {
  /** Users per page (one transaction each). */
  pageSize?: number;
  /** How long past its deadline or expiry a hold or a grant may stay live before it counts (the sweeps' slack). */
  graceMs?: number;
  now?: Date;
  /** Mails the operator when something is found; absent when OPERATOR_EMAIL is not set. */
  notifyOperator?: (subject: string, text: string, reportId: string) => Promise<void>;
}

const DEFAULT_PAGE_SIZE = 1000;
const DEFAULT_GRACE_MS = 60 * 60 * 1000;
/** Findings listed per kind in the report; the summary counts them all. */
const LISTED_PER_KIND = 500;

/**
 * One page of users: the next `pageSize` user ids after `after`, then every check over the id range
 * (after, last]. A range, not `user_id = ANY(ids)`: the planner walks the user_id index for a range, where
 * for a long id list it chose a sequential scan of user_packages on every page (one scan per page: the run
 * grew with the square of the users). The ledger sums are read per grant from the index on
 * (user_package_id, amount, reserved_delta, used_delta) alone (index-only: the ledger is append-only, so
 * its pages are all-visible once vacuumed), summed per grant before the comparison so no page sorts or
 * hashes its users' whole ledgers.
 */
async function inspectUserPage(db: Database, after: string, pageSize: number, cutoff: Date): Promise<{ last: string | null; findings: Finding[] }> {
  return db.$transaction(async (tx) => {
    const users = await tx.$queryRaw<Array<{ user_id: string }>>`
      SELECT DISTINCT user_id FROM user_packages WHERE user_id > ${after} ORDER BY user_id LIMIT ${pageSize}`;
    if (users.length === 0) return { last: null, findings: [] };
    const last = users[users.length - 1]!.user_id;
    const findings: Finding[] = [];
    const mismatches = await tx.$queryRaw<Array<{ id: string; user_id: string; total: number; used: number; reserved: number; l_available: number; l_reserved: number; l_used: number }>>`
      SELECT g.id, g.user_id, g.total_credits AS total, g.used_credits AS used, g.reserved_credits AS reserved,
             l.available::int AS l_available, l.reserved::int AS l_reserved, l.used::int AS l_used
      FROM user_packages g
      CROSS JOIN LATERAL (
        SELECT COALESCE(SUM(amount), 0) AS available, COALESCE(SUM(reserved_delta), 0) AS reserved, COALESCE(SUM(used_delta), 0) AS used
        FROM credit_ledger_entries WHERE user_package_id = g.id
      ) l
      WHERE g.user_id > ${after} AND g.user_id <= ${last}
        AND (g.total_credits - g.used_credits - g.reserved_credits < 0
          OR l.available <> g.total_credits - g.used_credits - g.reserved_credits
          OR l.reserved <> g.reserved_credits
          OR l.used <> g.used_credits)`;
    for (const m of mismatches) {
      findings.push({
        id: `ledger_mismatch:${m.id}`, kind: 'ledger_mismatch', subjectId: m.id, userId: m.user_id,
        details: { columns: { available: m.total - m.used - m.reserved, reserved: m.reserved, used: m.used }, ledger: { available: m.l_available, reserved: m.l_reserved, used: m.l_used } },
      });
    }
    const inPage = { gt: after, lte: last };
    const holds = await tx.reservation.findMany({ where: { userId: inPage, status: 'held', expiresAt: { lt: cutoff } }, select: { id: true, userId: true, expiresAt: true } });
    for (const hold of holds) {
      findings.push({ id: `hold_past_deadline:${hold.id}`, kind: 'hold_past_deadline', subjectId: hold.id, userId: hold.userId, details: { expiresAt: hold.expiresAt.toISOString() } });
    }
    const grants = await tx.userPackage.findMany({ where: { userId: inPage, status: { in: ['pending', 'active', 'depleted'] }, expiresAt: { lt: cutoff } }, select: { id: true, userId: true, status: true, expiresAt: true } });
    for (const grant of grants) {
      findings.push({ id: `grant_past_expiry:${grant.id}`, kind: 'grant_past_expiry', subjectId: grant.id, userId: grant.userId, details: { status: grant.status, expiresAt: grant.expiresAt?.toISOString() ?? null } });
    }
    return { last, findings };
  });
}

async function inspectOrdersAndDeliveries(db: Database, cutoff: Date): Promise<Finding[]> {
  const findings: Finding[] = [];
  const unprovisioned = await db.$queryRaw<Array<{ id: string; user_id: string; status: string; paid_at: Date }>>`
    SELECT o.id, o.user_id, o.status::text AS status, p.paid_at
    FROM orders o JOIN order_payments p ON p.order_id = o.id
    WHERE o.grant_id IS NULL AND o.status IN ('paid', 'provisioning', 'pending_payment', 'expired', 'cancelled') AND p.paid_at < ${cutoff}
    ORDER BY p.paid_at LIMIT ${LISTED_PER_KIND}`;
  for (const order of unprovisioned) {
    findings.push({ id: `paid_not_provisioned:${order.id}`, kind: 'paid_not_provisioned', subjectId: order.id, userId: order.user_id, details: { status: order.status, paidAt: order.paid_at.toISOString() } });
  }
  const deadLetters = await db.webhookDelivery.count({ where: { status: 'failed' } });
  if (deadLetters > 0) findings.push({ id: 'dead_letters', kind: 'dead_letters', subjectId: 'webhook_deliveries', userId: null, details: { failedDeliveries: deadLetters } });
  return findings;
}

function countByKind(findings: Finding[]): Record<InspectionFindingKind, number> {
  const counts = Object.fromEntries(INSPECTION_FINDING_KINDS.map((kind) => [kind, 0])) as Record<InspectionFindingKind, number>;
  for (const finding of findings) counts[finding.kind] += finding.kind === 'dead_letters' ? Number(finding.details.failedDeliveries) : 1;
  return counts;
}

/** Runs the inspection and answers its report id. A retried run with the same report id writes once. */
export async function runInspection(db: Database, input: ScheduledJobInput = {}, options: InspectionOptions = {}): Promise<string> {
  const id = input.reportId ?? randomUUID();
  // A retried activity finds its report written: only the mail may be missing (it failed, so the activity is retried).
  const existing = await db.lifecycleReport.findUnique({ where: { id }, select: { summary: true } });
  if (existing) {
    const summary = existing.summary as { findings?: number; byKind?: Record<string, number> };
    if (options.notifyOperator && (summary.findings ?? 0) > 0) await mailOperator(options.notifyOperator, id, summary.findings ?? 0, summary.byKind ?? {});
    return id;
  }
  const startedAt = new Date();
  const now = options.now ?? startedAt;
  const cutoff = new Date(now.getTime() - (options.graceMs ?? DEFAULT_GRACE_MS));
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const findings: Finding[] = [];
  let after = '';
  let pages = 0;
  for (;;) {
    const page = await inspectUserPage(db, after, pageSize, cutoff);
    if (page.last === null) break;
    pages += 1;
    findings.push(...page.findings);
    after = page.last;
  }
  findings.push(...(await inspectOrdersAndDeliveries(db, cutoff)));
  const counts = countByKind(findings);
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  const listed = INSPECTION_FINDING_KINDS.flatMap((kind) => findings.filter((f) => f.kind === kind).slice(0, LISTED_PER_KIND));
  const summary = { findings: total, byKind: counts, userPages: pages };
  const written = await db.$transaction(async (tx) => {
    const created = await tx.lifecycleReport.createMany({
      data: [{ id, kind: 'inspection', trigger: input.trigger ?? 'schedule', scopeUserId: null, summary: summary as Prisma.InputJsonValue, items: listed as unknown as Prisma.InputJsonValue, startedAt, finishedAt: new Date() }],
      skipDuplicates: true,
    });
    if (created.count === 1 && total > 0) {
      await recordEvent(tx, { type: 'inspection.findings', userId: null, payload: { reportId: id, findings: total, byKind: counts } });
    }
    return created.count === 1;
  });
  // The report just written is the latest: the gauge shows it at once, without waiting for the cache.
  cachedFindings = { readAt: Date.now(), counts };
  if (written && total > 0 && options.notifyOperator) await mailOperator(options.notifyOperator, id, total, counts);
  return id;
}

async function mailOperator(notify: NonNullable<InspectionOptions['notifyOperator']>, reportId: string, total: number, byKind: Record<string, number>): Promise<void> {
  const lines = Object.entries(byKind).filter(([, count]) => count > 0).map(([kind, count]) => `${kind}: ${count}`);
  await notify(`Billing inspection: ${total} finding(s)`, `Report ${reportId}\n\n${lines.join('\n')}\n\nGET /v1/admin/inspections/${reportId}`, reportId);
}
