/**
 * The lifecycle's entry points for the API: sign-up's default package, packages by expiry window,
 * changing a package's expiry, revoking it, running a job now and reading its report. The database
 * changes first (the record); the timer is then told (signal) and re-reads it.
 */
import type { Client } from '@temporalio/client';
import { BillingError } from '../../platform/errors';
import { runClaimed, runIdempotent, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';
import type { GrantStatus } from '../../generated/prisma/enums';
import type { Database } from '../../platform/database';
import { idFromKey } from '../../platform/idempotency/fingerprint';
import { keysetOrder, type Page, type PageRequest } from '../../platform/pagination';
import { assignPackage, changeGrantExpiryIn, findGrantTimes, revokeGrantIn, grantView, type GrantView } from '../credits';
import { listLifecycleEvents, recordLifecycleEventIn } from './events';
import { LifecycleTimers, needsTimer, type LifecycleTimerSettings } from './timers';
import { reportView, type LifecycleReportView } from './views';
import { lifecycleStateQuery, packageLifecycleWorkflowId, SCHEDULED_JOBS, type ScheduledJobName } from '../../workflows/package-lifecycle-contract';

export interface LifecycleDeps {
  db: Database;
  temporal: Client;
  taskQueue: string;
  /** The timers' settings (`lifecycleTimerSettings` of the configuration): every timer started here carries them. */
  timerSettings: LifecycleTimerSettings;
}

const timersOf = (deps: LifecycleDeps) => new LifecycleTimers({ temporal: deps.temporal, taskQueue: deps.taskQueue, ...deps.timerSettings });

/** Starts the timer of a grant just made (admin assignment, sign-up); no-op if it runs or is not needed. */
export async function trackGrantedPackage<T extends { body: GrantView }>(deps: LifecycleDeps, result: T): Promise<T> {
  const grant = await findGrantTimes(deps.db, result.body.id);
  if (grant) await timersOf(deps).trackPackage(grant);
  return result;
}

/**
 * Gives the default package once per user: the grant is made under an idempotency claim unique per
 * user (`signup:<userId>`), so concurrent and repeated calls get the same grant; signup_grants keeps
 * the record.
 */
export async function signUp(deps: LifecycleDeps, userId: string, packageCode: string): Promise<{ userId: string; created: boolean; grant: GrantView }> {
  const result = await assignPackage(
    deps.db,
    { userId, packageCode, source: 'promotion', note: 'default package at sign-up' },
    { scope: `signup:${userId}`, key: 'default-package', requestHash: 'signup' },
    'system:signup',
  );
  await deps.db.signupGrant.createMany({ data: [{ userId, grantId: result.body.id, packageCode }], skipDuplicates: true });
  await trackGrantedPackage(deps, result);
  return { userId, created: !result.replayed, grant: result.body };
}

export interface ExpiryWindow {
  expiresAfter?: Date | undefined;
  expiresBefore?: Date | undefined;
  status?: GrantStatus | undefined;
  userId?: string | undefined;
}

/** Soonest expiry first; packages that never expire are not in any window. */
const SOONEST_EXPIRY_FIRST = keysetOrder({ field: 'expiresAt', direction: 'asc', kind: 'date' }, { field: 'id', direction: 'asc', kind: 'uuid' });

export async function listPackagesByExpiry(db: Database, window: ExpiryWindow, page: PageRequest) {
  const grants = await db.userPackage.findMany({
    where: {
      AND: [
        {
          ...(window.userId ? { userId: window.userId } : {}),
          ...(window.status ? { status: window.status } : {}),
          expiresAt: { not: null, ...(window.expiresAfter ? { gte: window.expiresAfter } : {}), ...(window.expiresBefore ? { lt: window.expiresBefore } : {}) },
        },
        SOONEST_EXPIRY_FIRST.after(page.cursor),
      ],
    },
    orderBy: SOONEST_EXPIRY_FIRST.orderBy,
    take: SOONEST_EXPIRY_FIRST.take(page),
  });
  return SOONEST_EXPIRY_FIRST.page(grants, page, (grant) => ({ ...grantView(grant), timerWorkflowId: needsTimer(grant) ? packageLifecycleWorkflowId(grant.id) : null }));
}

/**
 * Moves a package's expiry under the request's idempotency key: the change, its lifecycle fact and the
 * answer commit together; a retry with the key replays the first answer (it never re-applies an old
 * expiry over a later change). The timer is told after the commit, on a replay too (the first call
 * may have stopped before telling it; a signal it has already seen only makes it re-read).
 */
export async function changePackageExpiry(
  deps: LifecycleDeps,
  grantId: string,
  expiresAt: Date | null,
  reason: string,
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<GrantView>> {
  const result = await runIdempotent(deps.db, idempotency, async (tx) => {
    const { before, after } = await changeGrantExpiryIn(tx, grantId, expiresAt);
    await recordLifecycleEventIn(tx, {
      subjectType: 'user_package', subjectId: grantId, userId: after.userId, kind: 'expiry_changed',
      dedupeKey: `user_package:${grantId}:expiry_changed:${idempotency.scope}:${idempotency.key}`,
      details: { from: before.expiresAt?.toISOString() ?? null, to: after.expiresAt?.toISOString() ?? null, reason, actor },
    });
    return grantView(await tx.userPackage.findUniqueOrThrow({ where: { id: grantId } }));
  });
  const grant = await findGrantTimes(deps.db, grantId);
  if (grant) await timersOf(deps).packageExpiryChanged(grant);
  return result;
}

/**
 * Revokes a package under the request's idempotency key, like every other change: a retry with the
 * same key replays the first answer; a new revoke (another key) of a package already revoked is
 * refused with PACKAGE_STATE_CONFLICT, as a second cancel of an order is. The timer is told after the
 * commit, on a replay too.
 */
export async function revokePackage(deps: LifecycleDeps, grantId: string, reason: string, idempotency: Idempotency, actor: string): Promise<IdempotentResult<GrantView>> {
  const result = await runIdempotent(deps.db, idempotency, async (tx) => {
    const { grant, voidedCredits } = await revokeGrantIn(tx, grantId, { actor, reference: grantId });
    await recordLifecycleEventIn(tx, {
      subjectType: 'user_package', subjectId: grantId, userId: grant.userId, kind: 'revoked',
      dedupeKey: `user_package:${grantId}:revoked`, details: { reason, actor, voidedCredits },
    });
    return grantView(await tx.userPackage.findUniqueOrThrow({ where: { id: grantId } }));
  });
  await timersOf(deps).packageRevoked(grantId, reason);
  return result;
}

/** The timer's state (query) and the package's recorded lifecycle facts. */
export async function packageLifecycle(deps: LifecycleDeps, grantId: string) {
  const grant = await findGrantTimes(deps.db, grantId);
  if (!grant) throw new BillingError('NOT_FOUND', `User package ${grantId} not found.`);
  const workflowId = packageLifecycleWorkflowId(grantId);
  const timer = await deps.temporal
    .withDeadline(Date.now() + 3_000, () => deps.temporal.workflow.getHandle(workflowId).query(lifecycleStateQuery))
    .catch(() => null);
  const events = await listLifecycleEvents(deps.db, grantId);
  return {
    userPackageId: grantId,
    timerWorkflowId: workflowId,
    timer,
    events: events.map((e) => ({ kind: e.kind, details: e.details, occurredAt: e.occurredAt.toISOString() })),
  };
}

/** Namespace for deriving an admin-run job's report id from (credential, Idempotency-Key). */
const ADMIN_JOB_REPORT_NAMESPACE = '361d5515-8599-4e11-afd4-14ca946e072b';

/**
 * Runs a job now through its workflow (visible in the Temporal UI) and answers its report, once per key:
 * the report id, and so the workflow id, derive from the key, so concurrent retries join one run
 * (USE_EXISTING) and a retry after it closed reads its report instead of running the job again.
 */
export async function runJobNow(
  deps: LifecycleDeps,
  job: Exclude<ScheduledJobName, 'consumptionRollup'> | 'consumptionRollup',
  userId: string | undefined,
  idempotency: Idempotency,
): Promise<IdempotentResult<LifecycleReportView>> {
  return runClaimed(deps.db, idempotency, async () => {
    const reportId = idFromKey(idempotency, ADMIN_JOB_REPORT_NAMESPACE);
    const written = await deps.db.lifecycleReport.findUnique({ where: { id: reportId } });
    if (written) return reportView(written);
    await deps.temporal.workflow.execute(SCHEDULED_JOBS[job], {
      workflowId: `${job}-admin-${reportId}`,
      taskQueue: deps.taskQueue,
      args: [{ reportId, trigger: 'admin', ...(userId ? { userId } : {}) }],
      workflowExecutionTimeout: '10 minutes',
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    return getReport(deps.db, reportId);
  });
}

export async function getReport(db: Database, reportId: string): Promise<LifecycleReportView> {
  const report = await db.lifecycleReport.findUnique({ where: { id: reportId } });
  if (!report) throw new BillingError('NOT_FOUND', `Report ${reportId} not found.`);
  return reportView(report);
}

const NEWEST_REPORT_FIRST = keysetOrder({ field: 'startedAt', direction: 'desc', kind: 'date' }, { field: 'id', direction: 'desc', kind: 'uuid' });

export async function listReports(db: Database, kind: string | undefined, page: PageRequest): Promise<Page<LifecycleReportView>> {
  const rows = await db.lifecycleReport.findMany({
    where: { AND: [kind ? { kind } : {}, NEWEST_REPORT_FIRST.after(page.cursor)] },
    orderBy: NEWEST_REPORT_FIRST.orderBy,
    take: NEWEST_REPORT_FIRST.take(page),
  });
  return NEWEST_REPORT_FIRST.page(rows, page, reportView);
}
