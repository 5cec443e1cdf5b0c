import { GrantSource, PackageStatus, PackageType } from '../../generated/prisma/enums';
import { z } from '../../infra/zod';
import { packageRuleViolations } from '../../domain/packages';
import { assignPackage } from '../../credits/assign';
import { trackGrantedPackage } from '../../lifecycle/service';
import { lifecycleDeps } from './lifecycle';
import { grantSchema } from '../../credits/views';
import { listAuditEvents } from '../../catalog/audit';
import {
  createActionPrice,
  createPackage,
  deletePackage,
  getPackage,
  listActionPrices,
  listPackages,
  updateActionPrice,
  updatePackage,
} from '../../catalog/catalog';
import { actionPriceSchema, auditEventSchema, billingPackageSchema } from '../../catalog/views';
import { consumptionStats, listUserGrants } from '../../reports/reports';
import { exportConsumptionsCsv } from '../../reports/csv-export';
import { consumptionStatsSchema, statsGroupBySchema, userGrantListSchema } from '../../reports/views';
import { defineRoute, type RouteDefinition } from '../route';
import {
  actionKeySchema,
  consumptionFilterQuerySchema,
  grantStatusSchema,
  isoDate,
  listOf,
  rangeInOrder,
  rangeInOrderIssue,
  userIdSchema,
  uuidSchema,
} from '../schemas';

/** Operator endpoints (admin credential): the catalog, grants to users, and consumption reports. */
const ADMIN = ['admin' as const];
const TAG = 'Admin';

const INT32_MAX = 2_147_483_647;

// ---- request schemas --------------------------------------------------------------------------

const nameSchema = z.string().trim().min(1).max(200);
const statusSchema = z.enum(PackageStatus);
const prioritySchema = z.number().int().min(0).max(1_000_000).openapi({ description: 'Lower is spent first.' });
const packageCodeSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^(?:[a-z0-9]+(?:_[a-z0-9]+)*|[a-z0-9]+(?:-[a-z0-9]+)*)$/, 'lower_snake_case or kebab-case')
  .openapi({ example: 'pro_monthly' });

/** Sent as an empty body would change nothing yet still burn an Idempotency-Key; refuse it. */
const atLeastOneField = [
  (changes: Record<string, unknown>) => Object.values(changes).some((value) => value !== undefined),
  { message: 'give at least one field to change' },
] as const;

const createPriceBody = z.strictObject({
  actionKey: actionKeySchema,
  name: nameSchema,
  creditsPerUnit: z.number().int().min(0).max(INT32_MAX),
  status: statusSchema.optional(),
});
const updatePriceBody = createPriceBody
  .omit({ actionKey: true })
  .partial()
  .refine(...atLeastOneField)
  .openapi({ minProperties: 1 });
const actionKeyParams = z.strictObject({ actionKey: actionKeySchema });

const packageFields = {
  name: nameSchema,
  creditsAmount: z.number().int().min(0).max(INT32_MAX),
  // Capped at 100 years so a grant's expiry stays a valid date; use type permanent for "never".
  durationDays: z.number().int().min(1).max(36_500).nullable(),
  priceMinor: z.number().int().min(0).max(INT32_MAX).openapi({ description: 'Price in minor units of `currency`.' }),
  currency: z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code in upper case').openapi({ example: 'USD' }),
  visible: z.boolean(),
  defaultPriority: prioritySchema,
  status: statusSchema,
};
/**
 * The create schema states the type rules of domain/packages.ts as a discriminated union on `type`, so
 * the OpenAPI document (and any client generated from it) carries them; the domain rule still runs on
 * the parsed result, as it does on the merged result of a PATCH.
 */
const createPackageCommon = {
  ...packageFields,
  code: packageCodeSchema,
  visible: packageFields.visible.optional(),
  defaultPriority: packageFields.defaultPriority.optional(),
  status: packageFields.status.optional(),
};
// Documented here, enforced by packageRuleViolations (one issue per field, with the rule's message).
const givesCredits = packageFields.creditsAmount.openapi({ minimum: 1 });
// Required by the rule (documented as required; the domain rule reports it with its message, alongside
// any other rule broken, rather than zod stopping at the first missing field).
const expiresAfter = z.number().int().min(1).max(36_500).optional();
const REQUIRED_CREATE_FIELDS = ['name', 'creditsAmount', 'priceMinor', 'currency', 'code', 'type'];
const createPackageBody = z
  .discriminatedUnion('type', [
    z
      .strictObject({ ...createPackageCommon, type: z.literal(PackageType.permanent), durationDays: z.null().optional() })
      .openapi({ description: 'Never expires: no durationDays.' }),
    z
      .strictObject({ ...createPackageCommon, type: z.literal(PackageType.duration), durationDays: expiresAfter })
      .openapi({ description: 'Expires after durationDays; creditsAmount may be 0.', required: [...REQUIRED_CREATE_FIELDS, 'durationDays'] }),
    z
      .strictObject({ ...createPackageCommon, type: z.literal(PackageType.hybrid), creditsAmount: givesCredits, durationDays: expiresAfter })
      .openapi({ description: 'Credits that expire after durationDays.', required: [...REQUIRED_CREATE_FIELDS, 'durationDays'] }),
    z
      .strictObject({ ...createPackageCommon, type: z.literal(PackageType.credits), creditsAmount: givesCredits, durationDays: packageFields.durationDays.optional() })
      .openapi({ description: 'Credits, expiring after durationDays when given.' }),
  ])
  .superRefine((fields, ctx) => {
    for (const violation of packageRuleViolations(fields)) {
      ctx.addIssue({ code: 'custom', path: [violation.path], message: violation.message });
    }
  })
  .openapi({ discriminator: { propertyName: 'type' } });
// The type cannot change (grants already made follow it); the type rules are checked on the merged result.
const updatePackageBody = z.strictObject(packageFields).partial().refine(...atLeastOneField).openapi({ minProperties: 1 });
const packageParams = z.strictObject({ packageId: uuidSchema });
const packagesQuery = z.object({
  includeDeleted: z.enum(['true', 'false']).optional().openapi({ description: 'true: also list soft-deleted packages.' }),
});

const userParams = z.strictObject({ userId: userIdSchema });
const assignBody = z.strictObject({
  packageCode: packageCodeSchema,
  source: z.enum(GrantSource).default('gift'),
  note: z.string().trim().min(1).max(500).optional(),
  priority: prioritySchema.optional().openapi({ description: "Overrides the package's default priority." }),
  startsAt: isoDate.optional().openapi({ description: 'Default now; a later start keeps the grant unspendable until then.' }),
});
const grantsQuery = z.object({ status: grantStatusSchema.optional() });

const reportFilterQuery = consumptionFilterQuerySchema.extend({ userId: userIdSchema.optional() });
const statsQuery = reportFilterQuery
  .extend({ groupBy: statsGroupBySchema.default('day') })
  .refine(rangeInOrder, rangeInOrderIssue);
const exportQuery = reportFilterQuery.refine(rangeInOrder, rangeInOrderIssue);

// ---- routes -------------------------------------------------------------------------------------

export const adminRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'get',
    path: '/v1/admin/action-prices',
    access: ADMIN,
    tag: TAG,
    summary: 'All action prices, any status, ordered by actionKey.',
    response: listOf(actionPriceSchema).openapi('ActionPriceList'),
    handler: async ({ deps }) => ({ body: { items: await listActionPrices(deps.db) } }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/action-prices',
    access: ADMIN,
    tag: TAG,
    summary: 'Create an action price.',
    body: createPriceBody,
    response: actionPriceSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['ALREADY_EXISTS', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ body, deps, idempotency, principal }) => {
      return createActionPrice(deps.db, body, idempotency, principal!.id);
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/v1/admin/action-prices/:actionKey',
    access: ADMIN,
    tag: TAG,
    summary: 'Rename, reprice, enable or disable an action. Past consumptions keep the price they were charged.',
    params: actionKeyParams,
    body: updatePriceBody,
    response: actionPriceSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ params, body, deps, idempotency, principal }) => {
      return updateActionPrice(deps.db, params.actionKey, body, idempotency, principal!.id);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/packages',
    access: ADMIN,
    tag: TAG,
    summary: 'All packages (soft-deleted ones only with includeDeleted=true), ordered by code.',
    query: packagesQuery,
    response: listOf(billingPackageSchema).openapi('BillingPackageList'),
    handler: async ({ query, deps }) => ({
      body: { items: await listPackages(deps.db, { includeDeleted: query.includeDeleted === 'true' }) },
    }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/packages',
    access: ADMIN,
    tag: TAG,
    summary:
      'Create a package. permanent: no durationDays; duration and hybrid: durationDays required; credits and hybrid: creditsAmount > 0.',
    body: createPackageBody,
    response: billingPackageSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['ALREADY_EXISTS', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ body, deps, idempotency, principal }) => {
      return createPackage(deps.db, body, idempotency, principal!.id);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/packages/:packageId',
    access: ADMIN,
    tag: TAG,
    summary: 'One package; a soft-deleted one is shown with its deletedAt.',
    params: packageParams,
    response: billingPackageSchema,
    errors: ['NOT_FOUND'],
    handler: async ({ params, deps }) => ({ body: await getPackage(deps.db, params.packageId) }),
  }),
  defineRoute({
    method: 'patch',
    path: '/v1/admin/packages/:packageId',
    access: ADMIN,
    tag: TAG,
    summary: 'Change a package (show/hide with visible). Existing grants keep what they were given.',
    params: packageParams,
    body: updatePackageBody,
    response: billingPackageSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ params, body, deps, idempotency, principal }) => {
      return updatePackage(deps.db, params.packageId, body, idempotency, principal!.id);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/v1/admin/packages/:packageId',
    access: ADMIN,
    tag: TAG,
    summary: 'Soft-delete a package: hidden and no longer assignable; existing grants are untouched.',
    params: packageParams,
    response: billingPackageSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ params, deps, idempotency, principal }) => {
      return deletePackage(deps.db, params.packageId, idempotency, principal!.id);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/users/:userId/packages',
    access: ADMIN,
    tag: TAG,
    summary: "Give a user a package's credits, valid for the package's duration.",
    params: userParams,
    body: assignBody,
    response: grantSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['NOT_FOUND', 'PACKAGE_UNAVAILABLE', 'GRANT_ALREADY_EXPIRED', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ params, body, deps, idempotency, principal }) => {
      return trackGrantedPackage(lifecycleDeps(deps), await assignPackage(
        deps.db,
        { ...body, userId: params.userId, startsAt: body.startsAt === undefined ? undefined : new Date(body.startsAt) },
        idempotency,
        principal!.id,
      ));
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/users/:userId/packages',
    access: ADMIN,
    tag: TAG,
    summary: "A user's grants (any status unless filtered), newest first.",
    params: userParams,
    query: grantsQuery,
    response: userGrantListSchema,
    handler: async ({ params, query, deps }) => ({
      body: { items: await listUserGrants(deps.db, params.userId, query.status) },
    }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/consumptions/stats',
    access: ADMIN,
    tag: TAG,
    summary: 'Consumption counts and credit totals per UTC day or per action.',
    query: statsQuery,
    response: consumptionStatsSchema,
    handler: async ({ query, deps }) => {
      const { groupBy, ...filter } = query;
      return { body: await consumptionStats(deps.db, filter, groupBy) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/consumptions/export.csv',
    access: ADMIN,
    tag: TAG,
    summary:
      'Consumptions as CSV (RFC 4180), newest first, at most 100000 rows; X-Export-Truncated: true when more matched (narrow the range).',
    query: exportQuery,
    response: z.string(),
    produces: 'text/csv',
    handler: async ({ query, deps }) => {
      const exported = await exportConsumptionsCsv(deps.db, query);
      return {
        stream: exported.stream,
        contentType: 'text/csv; charset=utf-8',
        headers: {
          'Content-Disposition': 'attachment; filename="consumptions.csv"',
          ...(exported.truncated ? { 'X-Export-Truncated': 'true' } : {}),
        },
      };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/audit-events',
    access: ADMIN,
    tag: TAG,
    summary: 'Who changed prices and packages, and how (before/after), newest first. Balance changes are in the ledger.',
    query: z.strictObject({
      entityType: z.enum(['action_price', 'billing_package']).optional(),
      entityId: z.string().min(1).max(128).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
    response: listOf(auditEventSchema).openapi('AuditEvents'),
    handler: async ({ query, deps }) => ({ body: { items: await listAuditEvents(deps.db, query) } }),
  }),
];
