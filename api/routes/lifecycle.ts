import { BillingError } from '../../domain/errors';
import { GrantStatus } from '../../generated/prisma/enums';
import { z } from '../../infra/zod';
import { grantSchema } from '../../credits/views';
import {
  changePackageExpiry,
  getReport,
  listPackagesByExpiry,
  listReports,
  packageLifecycle,
  revokePackage,
  runJobNow,
  signUp,
  type LifecycleDeps,
} from '../../lifecycle/service';
import { repairReportItem } from '../../lifecycle/jobs';
import { lifecycleTimerSettings } from '../../lifecycle/timers';
import { listSchedules, scheduleDefinitions } from '../../lifecycle/schedules';
import {
  lifecycleReportSchema,
  lifecycleStateSchema,
  repairResultSchema,
  scheduleListSchema,
  signupSchema,
  userPackageListSchema,
} from '../../lifecycle/views';
import type { ApiDeps } from '../deps';
import { defineRoute, type RouteDefinition } from '../route';
import { isoDate, userIdSchema, uuidSchema } from '../schemas';
import { recordedPayment } from '../../orders/store';

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

const windowQuery = z
  .strictObject({
    expiresAfter: isoDate.optional().openapi({ description: 'Inclusive, ISO 8601 with offset.' }),
    expiresBefore: isoDate.optional().openapi({ description: 'Exclusive, ISO 8601 with offset.' }),
    status: z.enum(GrantStatus).optional(),
    userId: userIdSchema.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
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
const reportList = z.object({ items: z.array(lifecycleReportSchema) }).openapi('LifecycleReportList');

export const lifecycleRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/internal/users/:userId/signup',
    access: SERVICE,
    tag: 'Internal (service)',
    summary: 'A new user: gives the configured default package (trial) once per user, however often or concurrently called; later calls answer the same grant (created: false).',
    params: z.strictObject({ userId: userIdSchema }),
    body: z.strictObject({}),
    response: signupSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'PACKAGE_UNAVAILABLE', 'SERVICE_UNAVAILABLE'],
    handler: async ({ params, deps }) => ({ body: await signUp(lifecycleDeps(deps), params.userId, deps.config.DEFAULT_PACKAGE_CODE) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/user-packages',
    access: ADMIN,
    tag: TAG,
    summary: 'Packages expiring in a window [expiresAfter, expiresBefore), soonest first, with their timer workflow ids.',
    query: windowQuery,
    response: userPackageListSchema,
    handler: async ({ query, deps }) => ({
      body: {
        items: await listPackagesByExpiry(deps.db, {
          ...query,
          expiresAfter: query.expiresAfter ? new Date(query.expiresAfter) : undefined,
          expiresBefore: query.expiresBefore ? new Date(query.expiresBefore) : undefined,
        }),
      },
    }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/user-packages/:userPackageId/lifecycle',
    access: ADMIN,
    tag: TAG,
    summary: "A package's lifecycle: its timer's state (query) and its recorded facts (reminders, expiry, changes).",
    params: packageParams,
    response: lifecycleStateSchema,
    errors: ['NOT_FOUND'],
    handler: async ({ params, deps }) => ({ body: await packageLifecycle(lifecycleDeps(deps), params.userPackageId) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/user-packages/:userPackageId/expiry',
    access: ADMIN,
    tag: TAG,
    summary:
      "Change a live package's expiry (or make it permanent with null); its timer moves. A package already expired, revoked, or past its expiresAt (even if its timer has not marked it expired yet) is 409 PACKAGE_STATE_CONFLICT.",
    params: packageParams,
    body: expiryBody,
    response: grantSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'PACKAGE_STATE_CONFLICT', 'IDEMPOTENCY_KEY_REUSED', 'SERVICE_UNAVAILABLE'],
    handler: async ({ params, body, deps, idempotency, principal }) =>
      changePackageExpiry(lifecycleDeps(deps), params.userPackageId, body.expiresAt === null ? null : new Date(body.expiresAt), body.reason, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/user-packages/:userPackageId/revoke',
    access: ADMIN,
    tag: TAG,
    summary:
      "Revoke a live package: its available credits are taken back (holds still settle) and its timer ends. A retry with the same Idempotency-Key replays the first answer; a revoke under another key of a package already revoked, expired, or past its expiresAt is 409 PACKAGE_STATE_CONFLICT.",
    params: packageParams,
    body: z.strictObject({ reason: reasonSchema }),
    response: grantSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'PACKAGE_STATE_CONFLICT', 'IDEMPOTENCY_KEY_REUSED', 'SERVICE_UNAVAILABLE'],
    handler: async ({ params, body, deps, idempotency, principal }) => revokePackage(lifecycleDeps(deps), params.userPackageId, body.reason, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/lifecycle/sweeps',
    access: ADMIN,
    tag: TAG,
    summary: 'Run the expiry sweep now (a workflow, visible in Temporal) and answer its report.',
    body: jobBody,
    response: lifecycleReportSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['SERVICE_UNAVAILABLE'],
    handler: async ({ body, deps, idempotency }) => runJobNow(lifecycleDeps(deps), 'expirySweep', body.userId, idempotency),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/lifecycle/reconciliations',
    access: ADMIN,
    tag: TAG,
    summary: 'Run the reconciliation now and answer its report. It changes nothing; repair listed items one by one.',
    body: jobBody,
    response: lifecycleReportSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['SERVICE_UNAVAILABLE'],
    handler: async ({ body, deps, idempotency }) => runJobNow(lifecycleDeps(deps), 'reconciliation', body.userId, idempotency),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/lifecycle/reports',
    access: ADMIN,
    tag: TAG,
    summary: 'Reports of sweeps, reconciliations and rollups, newest first.',
    query: z.strictObject({ kind: z.enum(['sweep', 'reconciliation', 'rollup']).optional(), limit: z.coerce.number().int().min(1).max(100).default(20) }),
    response: reportList,
    handler: async ({ query, deps }) => ({ body: { items: await listReports(deps.db, query.kind, query.limit) } }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/lifecycle/reports/:reportId',
    access: ADMIN,
    tag: TAG,
    summary: 'One report with its items.',
    params: reportParams,
    response: lifecycleReportSchema,
    errors: ['NOT_FOUND'],
    handler: async ({ params, deps }) => ({ body: await getReport(deps.db, params.reportId) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/lifecycle/reports/:reportId/items/:itemId/repair',
    access: ADMIN,
    tag: TAG,
    summary: 'Repair one item a reconciliation listed: a grant out of line with its ledger is realigned to the ledger; a paid order is provisioned again.',
    params: repairParams,
    body: z.strictObject({}),
    response: repairResultSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'PACKAGE_STATE_CONFLICT', 'SERVICE_UNAVAILABLE'],
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
    summary: 'The scheduled jobs (Temporal Schedules) with their state, last runs and next run times.',
    response: scheduleListSchema,
    errors: ['SERVICE_UNAVAILABLE'],
    handler: async ({ deps }) => ({
      body: { items: await listSchedules(deps.temporal, scheduleDefinitions({ sweepEveryMinutes: 15, prefix: deps.config.SCHEDULE_ID_PREFIX }).map((d) => d.id)) },
    }),
  }),
];
