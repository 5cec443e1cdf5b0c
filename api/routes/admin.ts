import { GrantSource, PackageStatus, PackageType } from '../../generated/prisma/enums';
import { z } from '../../platform/zod';
import { packageRuleViolations } from '../../modules/catalog/rules/packages';
import { assignPackage, grantSchema } from '../../modules/credits';
import { trackGrantedPackage } from '../../modules/lifecycle';
import { lifecycleDeps } from './lifecycle';
import { listAuditEvents, createActionPrice, createPackage, deletePackage, getPackage, listActionPrices, listPackages, updateActionPrice, updatePackage, actionPriceSchema, auditEventSchema, billingPackageSchema } from '../../modules/catalog';
import { consumptionStats, listUserGrants, exportConsumptionsCsv, consumptionStatsSchema, statsGroupBySchema, userGrantSchema } from '../../modules/reports';
import { actionPrice, auditEvent, billingPackage, examplePage, grant, ids, userGrant } from '../examples';
import { defineRoute, type RouteDefinition } from '../route';
import {
  actionKeySchema,
  consumptionFilterQuerySchema,
  grantStatusSchema,
  isoDate,
  pageOf,
  pageQuery,
  rangeInOrder,
  rangeInOrderIssue,
  userIdSchema,
  uuidSchema,
} from '../schemas';
import { currencyCodeSchema } from '../../platform/schemas';

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
  currency: currencyCodeSchema.openapi({ example: 'USD' }),
  visible: z.boolean(),
  defaultPriority: prioritySchema,
  status: statusSchema,
};
/**
 * The create schema states the type rules of modules/catalog/rules/packages.ts as a discriminated union on `type`, so
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
      .openapi('CreatePermanentPackage', { description: 'Never expires: no durationDays.' }),
    z
      .strictObject({ ...createPackageCommon, type: z.literal(PackageType.duration), durationDays: expiresAfter })
      .openapi('CreateDurationPackage', { description: 'Expires after durationDays; creditsAmount may be 0.', required: [...REQUIRED_CREATE_FIELDS, 'durationDays'] }),
    z
      .strictObject({ ...createPackageCommon, type: z.literal(PackageType.hybrid), creditsAmount: givesCredits, durationDays: expiresAfter })
      .openapi('CreateHybridPackage', { description: 'Credits that expire after durationDays.', required: [...REQUIRED_CREATE_FIELDS, 'durationDays'] }),
    z
      .strictObject({ ...createPackageCommon, type: z.literal(PackageType.credits), creditsAmount: givesCredits, durationDays: packageFields.durationDays.optional() })
      .openapi('CreateCreditsPackage', { description: 'Credits, expiring after durationDays when given.' }),
  ])
  .superRefine((fields, ctx) => {
    for (const violation of packageRuleViolations(fields)) {
      ctx.addIssue({ code: 'custom', path: [violation.path], message: violation.message });
    }
  })
  // The mapping names each type's schema: without it, generators take the schema's name for the value.
  .openapi({
    discriminator: {
      propertyName: 'type',
      mapping: {
        [PackageType.permanent]: '#/components/schemas/CreatePermanentPackage',
        [PackageType.duration]: '#/components/schemas/CreateDurationPackage',
        [PackageType.hybrid]: '#/components/schemas/CreateHybridPackage',
        [PackageType.credits]: '#/components/schemas/CreateCreditsPackage',
      },
    },
  });
// The type cannot change (grants already made follow it); the type rules are checked on the merged result.
const updatePackageBody = z.strictObject(packageFields).partial().refine(...atLeastOneField).openapi({ minProperties: 1 });
const packageParams = z.strictObject({ packageId: uuidSchema });
/** The catalog lists answered everything before they paged: a first page this long keeps that for any real catalog. */
const CATALOG_PAGE = { default: 200, max: 500 };
const packagesQuery = pageQuery(CATALOG_PAGE).extend({
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
const grantsQuery = pageQuery(CATALOG_PAGE).extend({ status: grantStatusSchema.optional() });
/** Shared with GET /v1/me/packages. */
export const userGrantPageSchema = pageOf(userGrantSchema).openapi('UserGrantList');

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
    operationId: 'listAdminActionPrices',
    summary: 'List all action prices',
    description: 'Every action price, active or disabled, ordered by actionKey.',
    query: pageQuery(CATALOG_PAGE).strict(),
    response: pageOf(actionPriceSchema).openapi('ActionPriceList'),
    examples: { response: examplePage(actionPrice) },
    handler: async ({ query, deps }) => ({ body: await listActionPrices(deps.db, query) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/action-prices',
    access: ADMIN,
    tag: TAG,
    operationId: 'createActionPrice',
    summary: 'Create an action price',
    description:
      'Prices a business action in credits per unit. The actionKey is what services name in checks, deducts and reservations; it cannot change later. Audited, and an `action_price.changed` event is sent.',
    body: createPriceBody,
    response: actionPriceSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['ALREADY_EXISTS', 'IDEMPOTENCY_KEY_REUSED'],
    examples: {
      request: { actionKey: actionPrice.actionKey, name: actionPrice.name, creditsPerUnit: actionPrice.creditsPerUnit },
      response: actionPrice,
    },
    handler: async ({ body, deps, idempotency, principal }) => {
      return createActionPrice(deps.db, body, idempotency, principal!.id);
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/v1/admin/action-prices/:actionKey',
    access: ADMIN,
    tag: TAG,
    operationId: 'updateActionPrice',
    summary: 'Change an action price',
    description:
      'Rename, reprice, enable or disable an action. Past consumptions keep the price they were charged; a disabled action is refused with ACTION_DISABLED. Audited, and an `action_price.changed` event is sent.',
    params: actionKeyParams,
    body: updatePriceBody,
    response: actionPriceSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { request: { creditsPerUnit: 5 }, response: actionPrice },
    handler: async ({ params, body, deps, idempotency, principal }) => {
      return updateActionPrice(deps.db, params.actionKey, body, idempotency, principal!.id);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/packages',
    access: ADMIN,
    tag: TAG,
    operationId: 'listPackages',
    summary: 'List all packages',
    description: 'Every package, visible or not, ordered by code; soft-deleted ones only with includeDeleted=true.',
    query: packagesQuery,
    response: pageOf(billingPackageSchema).openapi('BillingPackageList'),
    examples: { response: examplePage(billingPackage) },
    handler: async ({ query, deps }) => ({
      body: await listPackages(deps.db, { includeDeleted: query.includeDeleted === 'true' }, query),
    }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/packages',
    access: ADMIN,
    tag: TAG,
    operationId: 'createPackage',
    summary: 'Create a package',
    description:
      'A package is what a user can be granted or buy: credits, a validity, or both. The type decides which fields it needs: permanent has no durationDays; duration and hybrid need durationDays; credits and hybrid need creditsAmount > 0. Audited.',
    body: createPackageBody,
    response: billingPackageSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['ALREADY_EXISTS', 'IDEMPOTENCY_KEY_REUSED'],
    examples: {
      request: { code: 'pro_monthly', name: 'Pro monthly', type: 'hybrid', creditsAmount: 500, durationDays: 30, priceMinor: 999, currency: 'USD' },
      response: billingPackage,
    },
    handler: async ({ body, deps, idempotency, principal }) => {
      return createPackage(deps.db, body, idempotency, principal!.id);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/packages/:packageId',
    access: ADMIN,
    tag: TAG,
    operationId: 'getPackage',
    summary: 'Get a package',
    description: 'One package by id; a soft-deleted one is shown with its deletedAt (it still explains the grants made from it).',
    params: packageParams,
    response: billingPackageSchema,
    errors: ['NOT_FOUND'],
    examples: { response: billingPackage },
    handler: async ({ params, deps }) => ({ body: await getPackage(deps.db, params.packageId) }),
  }),
  defineRoute({
    method: 'patch',
    path: '/v1/admin/packages/:packageId',
    access: ADMIN,
    tag: TAG,
    operationId: 'updatePackage',
    summary: 'Change a package',
    description:
      'Change a package\'s name, credits, duration, price, visibility (show or hide it in the storefront), priority or status. The type cannot change; its rules are checked on the merged result. Existing grants keep what they were given. Audited.',
    params: packageParams,
    body: updatePackageBody,
    response: billingPackageSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { request: { visible: false }, response: { ...billingPackage, visible: false } },
    handler: async ({ params, body, deps, idempotency, principal }) => {
      return updatePackage(deps.db, params.packageId, body, idempotency, principal!.id);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/v1/admin/packages/:packageId',
    access: ADMIN,
    tag: TAG,
    operationId: 'deletePackage',
    summary: 'Delete a package',
    description: 'Soft delete: the package is hidden and can no longer be assigned or bought; existing grants are untouched. Audited.',
    params: packageParams,
    response: billingPackageSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { response: { ...billingPackage, visible: false, deletedAt: '2026-02-01T09:00:00.000Z' } },
    handler: async ({ params, deps, idempotency, principal }) => {
      return deletePackage(deps.db, params.packageId, idempotency, principal!.id);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/users/:userId/packages',
    access: ADMIN,
    tag: TAG,
    operationId: 'assignPackage',
    summary: 'Give a user a package',
    description:
      "Grants a user a package's credits, valid for the package's duration from startsAt (default now). The grant's lifecycle timer starts (reminders, expiry). A `credits.granted` event is sent.",
    params: userParams,
    body: assignBody,
    response: grantSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['NOT_FOUND', 'PACKAGE_UNAVAILABLE', 'GRANT_ALREADY_EXPIRED', 'IDEMPOTENCY_KEY_REUSED'],
    examples: {
      request: { packageCode: 'pro_monthly', source: 'gift', note: 'Apology for the outage on 2026-01-19' },
      response: { ...grant, source: 'gift', usedCredits: 0, reservedCredits: 0, availableCredits: 500, note: 'Apology for the outage on 2026-01-19' },
    },
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
    operationId: 'listUserGrants',
    summary: "List a user's grants",
    description: "A user's grants with the package each came from, any status unless filtered, newest first.",
    params: userParams,
    query: grantsQuery,
    response: userGrantPageSchema,
    examples: { response: examplePage(userGrant) },
    handler: async ({ params, query, deps }) => ({
      body: await listUserGrants(deps.db, params.userId, query.status, query),
    }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/consumptions/stats',
    access: ADMIN,
    tag: TAG,
    operationId: 'getConsumptionStats',
    summary: 'Consumption statistics',
    description: 'Consumption counts and credit totals per UTC day or per action, over [from, to) and optional user and action filters.',
    query: statsQuery,
    response: consumptionStatsSchema,
    unpaged: 'A report: one row per day or action in the range asked for.',
    examples: {
      response: {
        groupBy: 'day',
        rows: [
          { key: '2026-01-30', consumptions: 1840, quantity: 2012, creditsCost: 9310, creditsRefunded: 45, netCredits: 9265 },
          { key: '2026-01-31', consumptions: 1712, quantity: 1790, creditsCost: 8650, creditsRefunded: 0, netCredits: 8650 },
        ],
      },
    },
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
    operationId: 'exportConsumptionsCsv',
    summary: 'Export consumptions as CSV',
    description:
      'Consumptions as CSV (RFC 4180), newest first, at most 100000 rows; the header `X-Export-Truncated: true` says more matched (narrow the range).',
    query: exportQuery,
    response: z.string(),
    produces: 'text/csv',
    examples: {
      response: `id,created_at,user_id,action_key,quantity,unit_price,credits_cost,credits_refunded,reservation_id\r\n${ids.consumption},2026-01-31T12:00:04.000Z,user-42,resume_optimize,1,5,5,0,${ids.reservation}\r\n`,
    },
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
    operationId: 'listAuditEvents',
    summary: 'List catalog audit events',
    description: 'Who changed prices and packages, and how (before and after), newest first. Balance changes are in the ledger, not here.',
    query: pageQuery({ default: 100, max: 500 })
      .extend({
        entityType: z.enum(['action_price', 'billing_package']).optional(),
        entityId: z.string().min(1).max(128).optional(),
      })
      .strict(),
    response: pageOf(auditEventSchema).openapi('AuditEvents'),
    examples: { response: examplePage(auditEvent) },
    handler: async ({ query, deps }) => {
      const { limit, cursor, ...filter } = query;
      return { body: await listAuditEvents(deps.db, filter, { limit, cursor }) };
    },
  }),
];
