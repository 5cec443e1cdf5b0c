import { BillingError } from '../../platform/errors';
import { GrantStatus } from '../../generated/prisma/enums';
import { z } from '../../platform/zod';
import { grantSchema } from '../../modules/credits';
import { changePackageExpiry, getReport, listPackagesByExpiry, listReports, packageLifecycle, revokePackage, runJobNow, signUp, type LifecycleDeps, repairReportItem, lifecycleTimerSettings, listSchedules, scheduleDefinitions, lifecycleReportSchema, lifecycleStateSchema, repairResultSchema, scheduleSchema, signupSchema, userPackageWithTimerSchema } from '../../modules/lifecycle';
import { keysetOrder } from '../../platform/pagination';
import type { ApiDeps } from '../deps';
import { examplePage, grant, ids, lifecycleReport, schedule, trialGrant, userPackageWithTimer } from '../examples';
import { defineRoute, type RouteDefinition } from '../route';
import { isoDate, pageOf, pageQuery, userIdSchema, uuidSchema } from '../schemas';
import { recordedPayment } from '../../modules/orders';
import { retentionScheduleId } from '../../modules/retention';

/** Package and subscription lifecycle: sign-up, expiry window, expiry changes, revocation, jobs, schedules. */
const ADMIN = ['admin' as const];
const SERVICE = ['service' as const];
const TAG = 'Admin (lifecycle)';

/** What the lifecycle service needs of the API's dependencies: every route that starts a timer builds it here. */
export const lifecycleDeps = (deps: ApiDeps): LifecycleDeps => ({
  db: deps.db,
  temporal: deps.temporal,
  taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
  timerSettings: lifecycleTimerSettings(deps.config),
});

const windowQuery = pageQuery({ default: 100, max: 500 })
  .extend({
    expiresAfter: isoDate.optional().openapi({ description: 'Inclusive, ISO 8601 with offset.' }),
    expiresBefore: isoDate.optional().openapi({ description: 'Exclusive, ISO 8601 with offset.' }),
    status: z.enum(GrantStatus).optional(),
    userId: userIdSchema.optional(),
  })
  .strict()
  .refine((q) => !q.expiresAfter || !q.expiresBefore || Date.parse(q.expiresAfter) < Date.parse(q.expiresBefore), {
    message: 'expiresAfter must be before expiresBefore',
    path: ['expiresBefore'],
  });
const packageParams = z.strictObject({ userPackageId: uuidSchema });
const reasonSchema = z.string().trim().min(1).max(500);
const expiryBody = z.strictObject({
  expiresAt: isoDate.nullable().openapi({ description: 'New expiry (ISO 8601 with offset); null: never expires.' }),
  reason: reasonSchema,
});
const jobBody = z.strictObject({ userId: userIdSchema.optional().openapi({ description: "Only this user's data; default everything." }) });
const reportParams = z.strictObject({ reportId: uuidSchema });
const repairParams = z.strictObject({ reportId: uuidSchema, itemId: z.string().min(1).max(200) });
const reportList = pageOf(lifecycleReportSchema).openapi('LifecycleReportList');
const inspectionReport = {
  ...lifecycleReport,
  kind: 'inspection' as const,
  summary: { findings: 2, byKind: { ledger_mismatch: 1, hold_past_deadline: 0, grant_past_expiry: 0, paid_not_provisioned: 0, dead_letters: 1 }, userPages: 1 },
  items: [
    { id: `ledger_mismatch:${ids.grant}`, kind: 'ledger_mismatch', subjectId: ids.grant, userId: ids.user, details: { columns: { available: 90, reserved: 0, used: 10 }, ledger: { available: 100, reserved: 0, used: 0 } } },
    { id: 'dead_letters', kind: 'dead_letters', subjectId: 'webhook_deliveries', userId: null, details: { failedDeliveries: 1 } },
  ],
};
/** Schedules are a short fixed set (modules/lifecycle/schedules.ts), paged in memory by id like any list. */
const BY_SCHEDULE_ID = keysetOrder({ field: 'id', direction: 'asc', kind: 'text' });
/** What the package timer's state query answers (workflows/package-lifecycle-contract.ts, LifecycleState). */
const timerState = {
  subjectType: 'user_package',
  subjectId: ids.grant,
  userId: ids.user,
  phase: 'active',
  startsAt: grant.startsAt,
  expiresAt: grant.expiresAt,
  plannedFrom: grant.createdAt,
  remindersSent: [],
  next: { kind: 'remind', at: '2026-02-16T08:00:00.000Z' },
  expiryChanges: 0,
  run: 1,
};

export const lifecycleRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/internal/users/:userId/signup',
    access: SERVICE,
    tag: 'Internal (service)',
    operationId: 'signUpUser',
    summary: 'Sign a new user up',
    description:
      'Gives a new user the configured default package (the trial) once per user, however often or concurrently called; later calls answer the same grant with `created: false`.',
    params: z.strictObject({ userId: userIdSchema }),
    body: z.strictObject({}),
    response: signupSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'PACKAGE_UNAVAILABLE', 'SERVICE_UNAVAILABLE'],
    examples: { request: {}, response: { userId: ids.user, created: true, grant: trialGrant } },
    handler: async ({ params, deps }) => ({ body: await signUp(lifecycleDeps(deps), params.userId, deps.config.DEFAULT_PACKAGE_CODE) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/user-packages',
    access: ADMIN,
    tag: TAG,
    operationId: 'listPackagesByExpiry',
    summary: 'List packages by expiry',
    description:
      'Grants expiring in a window [expiresAfter, expiresBefore), soonest first, with the workflow id of each one\'s lifecycle timer; grants that never expire are not listed.',
    query: windowQuery,
    response: pageOf(userPackageWithTimerSchema).openapi('UserPackageList'),
    examples: { response: examplePage(userPackageWithTimer) },
    handler: async ({ query, deps }) => {
      const { limit, cursor, ...window } = query;
      return {
        body: await listPackagesByExpiry(
          deps.db,
          {
            ...window,
            expiresAfter: window.expiresAfter ? new Date(window.expiresAfter) : undefined,
            expiresBefore: window.expiresBefore ? new Date(window.expiresBefore) : undefined,
          },
          { limit, cursor },
        ),
      };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/user-packages/:userPackageId/lifecycle',
    access: ADMIN,
    tag: TAG,
    operationId: 'getPackageLifecycle',
    summary: "Get a package's lifecycle",
    description: "A granted package's lifecycle: its timer's state (the workflow's query) and its recorded facts (reminders, expiry, changes).",
    params: packageParams,
    response: lifecycleStateSchema,
    errors: ['NOT_FOUND'],
    examples: {
      response: {
        userPackageId: ids.grant,
        timerWorkflowId: `package-lifecycle-${ids.grant}`,
        timer: timerState,
        events: [{ kind: 'activated', details: null, occurredAt: grant.startsAt }],
      },
    },
    handler: async ({ params, deps }) => ({ body: await packageLifecycle(lifecycleDeps(deps), params.userPackageId) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/user-packages/:userPackageId/expiry',
    access: ADMIN,
    tag: TAG,
    operationId: 'changePackageExpiry',
    summary: "Change a package's expiry",
    description:
      "Moves a live package's expiry (or makes it permanent with null); its timer moves with it. A package already expired, revoked, or past its expiresAt (even if its timer has not marked it expired yet) is 409 PACKAGE_STATE_CONFLICT.",
    params: packageParams,
    body: expiryBody,
    response: grantSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'PACKAGE_STATE_CONFLICT', 'IDEMPOTENCY_KEY_REUSED', 'SERVICE_UNAVAILABLE'],
    examples: {
      request: { expiresAt: '2026-03-01T00:00:00Z', reason: 'Compensation for the outage on 2026-01-19' },
      response: { ...grant, expiresAt: '2026-03-01T00:00:00.000Z' },
    },
    handler: async ({ params, body, deps, idempotency, principal }) =>
      changePackageExpiry(lifecycleDeps(deps), params.userPackageId, body.expiresAt === null ? null : new Date(body.expiresAt), body.reason, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/user-packages/:userPackageId/revoke',
    access: ADMIN,
    tag: TAG,
    operationId: 'revokePackage',
    summary: 'Revoke a package',
    description:
      'Revokes a live package: its available credits are taken back (holds still settle) and its timer ends. A retry with the same Idempotency-Key replays the first answer; a revoke under another key of a package already revoked, expired, or past its expiresAt is 409 PACKAGE_STATE_CONFLICT.',
    params: packageParams,
    body: z.strictObject({ reason: reasonSchema }),
    response: grantSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'PACKAGE_STATE_CONFLICT', 'IDEMPOTENCY_KEY_REUSED', 'SERVICE_UNAVAILABLE'],
    examples: {
      request: { reason: 'Chargeback on the paying card' },
      response: { ...grant, status: 'revoked', totalCredits: 125, availableCredits: 0 },
    },
    handler: async ({ params, body, deps, idempotency, principal }) => revokePackage(lifecycleDeps(deps), params.userPackageId, body.reason, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/lifecycle/sweeps',
    access: ADMIN,
    tag: TAG,
    operationId: 'runExpirySweep',
    summary: 'Run the expiry sweep now',
    description:
      'Runs the expiry sweep now (a workflow, visible in Temporal) for everyone or one user, and answers its report: packages past expiresAt that a timer missed are expired, lapsed holds released.',
    body: jobBody,
    response: lifecycleReportSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['SERVICE_UNAVAILABLE'],
    examples: {
      request: { userId: ids.user },
      response: {
        ...lifecycleReport,
        kind: 'sweep',
        scopeUserId: ids.user,
        summary: { expiredPackages: 1, lapsedReleases: 0, lapsedSubscriptions: 0, expiredOrphanHolds: 0 },
        items: [{ id: `missed_timer:${ids.trialGrant}`, kind: 'missed_timer', subjectId: ids.trialGrant, userId: ids.user, details: { expiresAt: trialGrant.expiresAt } }],
      },
    },
    handler: async ({ body, deps, idempotency }) => runJobNow(lifecycleDeps(deps), 'expirySweep', body.userId, idempotency),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/lifecycle/reconciliations',
    access: ADMIN,
    tag: TAG,
    operationId: 'runLifecycleReconciliation',
    summary: 'Run the ledger reconciliation now',
    description:
      'Runs the reconciliation now and answers its report: grants whose balances disagree with their ledger, paid orders not provisioned, provisioned orders without a payment. It changes nothing; repair listed items one by one.',
    body: jobBody,
    response: lifecycleReportSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['SERVICE_UNAVAILABLE'],
    examples: { request: {}, response: lifecycleReport },
    handler: async ({ body, deps, idempotency }) => runJobNow(lifecycleDeps(deps), 'reconciliation', body.userId, idempotency),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/lifecycle/reports',
    access: ADMIN,
    tag: TAG,
    operationId: 'listLifecycleReports',
    summary: 'List lifecycle job reports',
    description: 'Reports of sweeps, reconciliations and rollups, scheduled or run by an operator, newest first.',
    query: pageQuery({ default: 20, max: 100 })
      .extend({ kind: z.enum(['sweep', 'reconciliation', 'rollup']).optional() })
      .strict(),
    response: reportList,
    examples: { response: examplePage(lifecycleReport) },
    handler: async ({ query, deps }) => {
      const { limit, cursor, kind } = query;
      return { body: await listReports(deps.db, kind, { limit, cursor }) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/lifecycle/reports/:reportId',
    access: ADMIN,
    tag: TAG,
    operationId: 'getLifecycleReport',
    summary: 'Get a lifecycle job report',
    description: 'One report with all its items.',
    params: reportParams,
    response: lifecycleReportSchema,
    errors: ['NOT_FOUND'],
    unpaged: "One report: its items are the report's own findings, written once when the job ran.",
    examples: { response: lifecycleReport },
    handler: async ({ params, deps }) => ({ body: await getReport(deps.db, params.reportId) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/lifecycle/reports/:reportId/items/:itemId/repair',
    access: ADMIN,
    tag: TAG,
    operationId: 'repairLifecycleReportItem',
    summary: 'Repair a reconciliation finding',
    description:
      'Repairs one item a reconciliation listed: a grant out of line with its ledger is realigned to the ledger; a paid order is provisioned again through its workflow.',
    params: repairParams,
    body: z.strictObject({}),
    response: repairResultSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'PACKAGE_STATE_CONFLICT', 'SERVICE_UNAVAILABLE'],
    examples: {
      request: {},
      response: {
        itemId: `grant_ledger_mismatch:${ids.grant}`,
        action: 'realigned_to_ledger',
        result: { before: { total: 500, used: 120, reserved: 5 }, after: { total: 495, used: 120, reserved: 5 } },
      },
    },
    handler: async ({ params, deps, principal }) => ({
      body: await repairReportItem(
        deps.db,
        params.reportId,
        params.itemId,
        {
          reprovisionOrder: async (orderId, userId) => {
            const payment = await recordedPayment(deps.db, orderId);
            if (!payment) throw new BillingError('NOT_FOUND', `Order ${orderId} has no recorded payment.`, { orderId });
            await deps.orders.deliverPayment(orderId, userId, {
              outcome: 'succeeded', source: payment.source as 'stripe' | 'gateway' | 'manual', externalId: payment.externalId,
              amountMinor: payment.amountMinor, currency: payment.currency, actor: principal!.id, eventId: `reconciliation-repair:${params.reportId}`,
            });
          },
        },
        principal!.id,
      ),
    }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/schedules',
    access: ADMIN,
    tag: TAG,
    operationId: 'listSchedules',
    summary: 'List scheduled jobs',
    description: 'The scheduled jobs (Temporal Schedules), ordered by id, with their state, last runs and next run times. A schedule not created yet is left out.',
    query: pageQuery().strict(),
    response: pageOf(scheduleSchema).openapi('ScheduleList'),
    errors: ['SERVICE_UNAVAILABLE'],
    examples: { response: { items: [schedule], nextCursor: null } },
    handler: async ({ query, deps }) => {
      const definitions = scheduleDefinitions({ sweepEveryMinutes: 15, prefix: deps.config.SCHEDULE_ID_PREFIX });
      const ids = [...definitions.map((definition) => definition.id), retentionScheduleId(deps.config.SCHEDULE_ID_PREFIX)];
      const page = BY_SCHEDULE_ID.pageInMemory(ids.map((id) => ({ id })), query);
      return { body: { items: await listSchedules(deps.temporal, page.items.map((item) => item.id)), nextCursor: page.nextCursor } };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/inspections',
    access: ADMIN,
    tag: TAG,
    operationId: 'runInspection',
    summary: 'Run the daily inspection now',
    description:
      'Runs the daily inspection now (the same workflow its schedule starts) and answers its report: grants whose balances disagree with their ledger, holds still held past their deadline, grants still live past their expiry, paid orders not provisioned, and the count of failed webhook deliveries. It changes nothing. When it finds something it records an `inspection.findings` event and mails OPERATOR_EMAIL. Once per Idempotency-Key.',
    body: z.strictObject({}),
    response: lifecycleReportSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['SERVICE_UNAVAILABLE'],
    examples: { request: {}, response: inspectionReport },
    handler: async ({ deps, idempotency }) => runJobNow(lifecycleDeps(deps), 'dailyInspection', undefined, idempotency),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/inspections',
    access: ADMIN,
    tag: TAG,
    operationId: 'listInspections',
    summary: 'List inspection reports',
    description: 'Reports of the daily inspection, scheduled or run by an operator, newest first.',
    query: pageQuery({ default: 20, max: 100 }).strict(),
    response: reportList,
    examples: { response: examplePage(inspectionReport) },
    handler: async ({ query, deps }) => ({ body: await listReports(deps.db, 'inspection', query) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/inspections/:reportId',
    access: ADMIN,
    tag: TAG,
    operationId: 'getInspection',
    summary: 'Get an inspection report',
    description: 'One inspection report: the count per finding kind (summary.byKind) and the findings listed (up to 500 per kind).',
    params: reportParams,
    response: lifecycleReportSchema,
    errors: ['NOT_FOUND'],
    unpaged: "One report: its items are the inspection's own findings, written once when it ran.",
    examples: { response: inspectionReport },
    handler: async ({ params, deps }) => {
      const report = await getReport(deps.db, params.reportId);
      if (report.kind !== 'inspection') throw new BillingError('NOT_FOUND', `Inspection ${params.reportId} not found.`);
      return { body: report };
    },
  }),
];
