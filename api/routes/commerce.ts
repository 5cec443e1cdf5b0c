import { z } from '../../infra/zod';
import { BillingError } from '../../domain/errors';
import { isKnownCurrency } from '../../domain/currencies';
import { createCoupon, getCoupon, listCoupons, updateCoupon } from '../../coupons/coupons';
import { previewCoupon } from '../../orders/store';
import { couponPreviewSchema, couponSchema } from '../../coupons/views';
import { listPackagePrices, packagePricesSchema, setPackagePrices } from '../../pricing/prices';
import { salesByCurrency, salesByCurrencySchema } from '../../pricing/sales';
import { createSeller, getSeller, listSellers, updateSeller } from '../../sellers/sellers';
import { earningsByPeriod, exportEarningsCsv, orderSplit } from '../../sellers/earnings';
import { orderSplitSchema, sellerEarningsSchema, sellerSchema } from '../../sellers/views';
import { getReport, listReports, requireReconcilableChannel } from '../../reconciliation/reports';
import { redriveMismatch } from '../../reconciliation/redrive';
import { runReconciliation } from '../../reconciliation/workflow-client';
import { mismatchSchema, reportSchema, reportSummarySchema } from '../../reconciliation/views';
import { idFromKey } from '../../idempotency/fingerprint';
import { defineRoute, type RouteDefinition } from '../route';
import { isoDate, listOf, rangeInOrder, rangeInOrderIssue, uuidSchema } from '../schemas';

/** Commerce: prices by currency, coupons, sellers and their earnings, gateway reconciliation. Handlers call services only. */
const USER = ['user' as const];
const ADMIN = ['admin' as const];
const TAG = 'Commerce';

const RECONCILIATION_ID_NAMESPACE = '5b1f7c0e-8d2a-4c61-9a57-3f0e2d4b6a19';

const codeSchema = z.string().min(1).max(64).regex(/^[a-z0-9]+(?:[_-][a-z0-9]+)*$/, 'lower_snake_case or kebab-case');
const couponCodeSchema = z
  .string()
  .min(3)
  .max(40)
  .regex(/^[A-Z0-9][A-Z0-9_-]*$/, 'upper case letters, digits, _ and -')
  .openapi({ example: 'LAUNCH20' });
export const currencySchema = z
  .string()
  .regex(/^[A-Z]{3}$/, 'ISO 4217 code in upper case')
  .refine(isKnownCurrency, 'not in the currency table (docs/commerce.md)')
  .openapi({ example: 'JPY' });
const amountsOffSchema = z
  .record(currencySchema, z.number().int().min(1).max(2_147_483_647))
  .refine((value) => Object.keys(value).length > 0 && Object.keys(value).length <= 50, 'one to 50 currencies');
const couponFields = {
  percentBasisPoints: z.number().int().min(1).max(10_000).nullable().openapi({ description: 'percent: basis points (2000 = 20 %).' }),
  amountsOff: amountsOffSchema.nullable().openapi({ description: 'fixed: minor units per currency, e.g. {"USD":500,"JPY":500}.' }),
  validFrom: isoDate.nullable(),
  validUntil: isoDate.nullable(),
  maxRedemptions: z.number().int().min(1).max(10_000_000).nullable(),
  maxPerUser: z.number().int().min(1).max(1_000).nullable(),
  packageCodes: z.array(codeSchema).max(200).nullable().openapi({ description: 'Restrict to these packages; null = all.' }),
  firstPurchaseOnly: z.boolean(),
  enabled: z.boolean(),
};
const createCouponBody = z.strictObject({ code: couponCodeSchema, kind: z.enum(['percent', 'fixed']), ...couponFields }).partial({
  percentBasisPoints: true,
  amountsOff: true,
  validFrom: true,
  validUntil: true,
  maxRedemptions: true,
  maxPerUser: true,
  packageCodes: true,
  firstPurchaseOnly: true,
  enabled: true,
});
const patchCouponBody = z.strictObject(couponFields).partial().refine((body) => Object.keys(body).length > 0, 'nothing to change');
const couponParams = z.strictObject({ code: couponCodeSchema });
const previewBody = z.strictObject({ code: couponCodeSchema, packageCode: codeSchema, currency: currencySchema.optional() });

const sellerFields = {
  name: z.string().trim().min(1).max(200),
  platformFeeBasisPoints: z.number().int().min(0).max(10_000).openapi({ description: 'Default 1500 (15 %).' }),
  enabled: z.boolean(),
  packageCodes: z.array(codeSchema).max(500),
};
const createSellerBody = z.strictObject({ code: codeSchema, ...sellerFields }).partial({ platformFeeBasisPoints: true, enabled: true, packageCodes: true });
const patchSellerBody = z.strictObject(sellerFields).partial().refine((body) => Object.keys(body).length > 0, 'nothing to change');
const sellerParams = z.strictObject({ sellerId: uuidSchema });
const rangeQuery = z.object({ from: isoDate.optional(), to: isoDate.optional() }).refine(rangeInOrder, rangeInOrderIssue);
const earningsQuery = z
  .object({ from: isoDate.optional(), to: isoDate.optional(), granularity: z.enum(['day', 'month']).default('day') })
  .refine(rangeInOrder, rangeInOrderIssue);

const pricesBody = z.strictObject({
  prices: z
    .array(z.strictObject({ currency: currencySchema, amountMinor: z.number().int().min(0).max(2_147_483_647) }))
    .max(50)
    .refine((prices) => new Set(prices.map((p) => p.currency)).size === prices.length, 'one price per currency'),
});

const reconcileBody = z
  .strictObject({ channel: codeSchema, from: isoDate, to: isoDate })
  .refine((body) => Date.parse(body.from) < Date.parse(body.to), { message: 'from must be before to', path: ['from'] })
  .refine((body) => Date.parse(body.to) - Date.parse(body.from) <= 31 * 86_400_000, { message: 'at most 31 days', path: ['to'] });
const reportParams = z.strictObject({ reportId: uuidSchema });
const mismatchParams = z.strictObject({ reportId: uuidSchema, mismatchId: uuidSchema });

export const commerceRoutes: RouteDefinition[] = [
  // --- prices by currency
  defineRoute({
    method: 'get',
    path: '/v1/packages/:packageCode/prices',
    access: 'public',
    tag: 'Public',
    summary: "A package's prices in every currency it is sold in (the default first). Amounts are integer minor units; never converted.",
    params: z.strictObject({ packageCode: codeSchema }),
    response: packagePricesSchema,
    errors: ['NOT_FOUND'],
    handler: async ({ params, deps }) => ({ body: await listPackagePrices(deps.db, params.packageCode) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/packages/:packageId/prices',
    access: ADMIN,
    tag: TAG,
    summary: "Replace a package's prices in other currencies (its own priceMinor/currency stays the default price). Audited.",
    params: z.strictObject({ packageId: uuidSchema }),
    body: pricesBody,
    response: packagePricesSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'CURRENCY_NOT_SUPPORTED', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ params, body, deps, idempotency, principal }) => setPackagePrices(deps.db, params.packageId, body.prices, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/statistics/sales',
    access: ADMIN,
    tag: TAG,
    summary: 'Paid orders in [from, to) grouped by currency: list price, discounts, charged, refunded (currencies are never added together).',
    query: rangeQuery,
    response: salesByCurrencySchema,
    handler: async ({ query, deps }) => ({ body: await salesByCurrency(deps.db, query) }),
  }),
  // --- coupons
  defineRoute({
    method: 'get',
    path: '/v1/admin/coupons',
    access: ADMIN,
    tag: TAG,
    summary: 'Coupons, newest first.',
    query: z.object({ enabled: z.enum(['true', 'false']).transform((v) => v === 'true').optional(), limit: z.coerce.number().int().min(1).max(500).default(100) }),
    response: listOf(couponSchema).openapi('CouponList'),
    handler: async ({ query, deps }) => ({ body: { items: await listCoupons(deps.db, query) } }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/coupons',
    access: ADMIN,
    tag: TAG,
    summary: 'Create a coupon: percent (basis points) or fixed (per currency), validity window, total and per-user limits, package and first-purchase restrictions. Audited.',
    body: createCouponBody,
    response: couponSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['ALREADY_EXISTS', 'NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ body, deps, idempotency, principal }) => createCoupon(deps.db, body, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/coupons/:code',
    access: ADMIN,
    tag: TAG,
    summary: 'One coupon with its current use count.',
    params: couponParams,
    response: couponSchema,
    errors: ['NOT_FOUND'],
    handler: async ({ params, deps }) => ({ body: await getCoupon(deps.db, params.code) }),
  }),
  defineRoute({
    method: 'patch',
    path: '/v1/admin/coupons/:code',
    access: ADMIN,
    tag: TAG,
    summary: 'Change a coupon (enable/disable, window, limits, restrictions); delete is `enabled: false`. Audited.',
    params: couponParams,
    body: patchCouponBody,
    response: couponSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ params, body, deps, idempotency, principal }) => updateCoupon(deps.db, params.code, body, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/me/coupons/preview',
    access: USER,
    tag: 'User',
    summary: 'What a code would take off a package in a currency, or the stable reason it does not apply. Changes nothing.',
    body: previewBody,
    response: couponPreviewSchema,
    errors: ['NOT_FOUND', 'PACKAGE_UNAVAILABLE', 'CURRENCY_NOT_SUPPORTED'],
    handler: async ({ body, deps, principal }) => {
      if (!principal?.userId) throw new BillingError('FORBIDDEN', 'This credential is not bound to a user.');
      return { body: await previewCoupon(deps.db, { ...body, userId: principal.userId }) };
    },
  }),
  // --- sellers
  defineRoute({
    method: 'get',
    path: '/v1/admin/sellers',
    access: ADMIN,
    tag: TAG,
    summary: 'Sellers (creators) with their fee and packages.',
    response: listOf(sellerSchema).openapi('SellerList'),
    handler: async ({ deps }) => ({ body: { items: await listSellers(deps.db) } }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/sellers',
    access: ADMIN,
    tag: TAG,
    summary: 'Create a seller; platform fee in basis points (default 1500 = 15 %); packageCodes are the packages it owns. Audited.',
    body: createSellerBody,
    response: sellerSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['ALREADY_EXISTS', 'NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ body, deps, idempotency, principal }) => createSeller(deps.db, body, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/sellers/:sellerId',
    access: ADMIN,
    tag: TAG,
    summary: 'One seller.',
    params: sellerParams,
    response: sellerSchema,
    errors: ['NOT_FOUND'],
    handler: async ({ params, deps }) => ({ body: await getSeller(deps.db, params.sellerId) }),
  }),
  defineRoute({
    method: 'patch',
    path: '/v1/admin/sellers/:sellerId',
    access: ADMIN,
    tag: TAG,
    summary: "Change a seller's name, fee (applies to later payments), packages or enabled flag; delete is `enabled: false`. Audited.",
    params: sellerParams,
    body: patchSellerBody,
    response: sellerSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'ALREADY_EXISTS', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ params, body, deps, idempotency, principal }) => updateSeller(deps.db, params.sellerId, body, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/sellers/:sellerId/earnings',
    access: ADMIN,
    tag: TAG,
    summary: "A seller's earnings per UTC day or month and currency in [from, to): gross, platform fee, seller share (refunds negative).",
    params: sellerParams,
    query: earningsQuery,
    response: sellerEarningsSchema,
    errors: ['NOT_FOUND'],
    handler: async ({ params, query, deps }) => ({ body: await earningsByPeriod(deps.db, params.sellerId, query) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/sellers/:sellerId/earnings/export.csv',
    access: ADMIN,
    tag: TAG,
    summary: "A seller's earnings ledger entries in [from, to) as CSV (RFC 4180), oldest first, at most 100000 rows; text cells formula-escaped.",
    params: sellerParams,
    query: rangeQuery,
    response: z.string(),
    produces: 'text/csv',
    errors: ['NOT_FOUND'],
    handler: async ({ params, query, deps }) => ({
      stream: await exportEarningsCsv(deps.db, params.sellerId, query),
      contentType: 'text/csv; charset=utf-8',
      headers: { 'Content-Disposition': 'attachment; filename="seller-earnings.csv"' },
    }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/orders/:orderId/split',
    access: ADMIN,
    tag: TAG,
    summary: "The revenue split an order recorded (sale, then one reversal per refund) and its net; empty when the package has no seller.",
    params: z.strictObject({ orderId: uuidSchema }),
    response: orderSplitSchema,
    errors: ['NOT_FOUND'],
    handler: async ({ params, deps }) => ({ body: await orderSplit(deps.db, params.orderId) }),
  }),
  // --- gateway reconciliation
  defineRoute({
    method: 'post',
    path: '/v1/admin/reconciliations',
    access: ADMIN,
    tag: TAG,
    summary: "Reconcile a channel's payments with the gateway's records for [from, to) (at most 31 days) now; answers the kept report. The daily Schedule does the same for every channel.",
    body: reconcileBody,
    response: reportSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['NOT_FOUND', 'CHANNEL_UNAVAILABLE', 'PAYMENT_PROVIDER_ERROR', 'SERVICE_UNAVAILABLE', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ body, deps, idempotency, principal }) => {
      await requireReconcilableChannel(deps.db, body.channel);
      const reportId = idFromKey(idempotency, RECONCILIATION_ID_NAMESPACE);
      await runReconciliation(deps.temporal, deps.config.TEMPORAL_TASK_QUEUE, Math.max(deps.config.RESERVATION_CALL_TIMEOUT_MS, 60_000), {
        reportId,
        channel: body.channel,
        from: body.from,
        to: body.to,
        trigger: `admin:${principal!.id}`,
      });
      return { body: await getReport(deps.db, reportId) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/reconciliations',
    access: ADMIN,
    tag: TAG,
    summary: 'Kept reconciliation reports, newest first (admin-triggered and scheduled).',
    query: z.object({ channel: codeSchema.optional(), limit: z.coerce.number().int().min(1).max(200).default(50) }),
    response: listOf(reportSummarySchema).openapi('ReconciliationReportList'),
    handler: async ({ query, deps }) => ({ body: { items: await listReports(deps.db, query) } }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/reconciliations/:reportId',
    access: ADMIN,
    tag: TAG,
    summary: 'One report with its mismatches.',
    params: reportParams,
    response: reportSchema,
    errors: ['NOT_FOUND'],
    handler: async ({ params, deps }) => ({ body: await getReport(deps.db, params.reportId) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/reconciliations/:reportId/mismatches/:mismatchId/redrive',
    access: ADMIN,
    tag: TAG,
    summary: "Re-drive a stuck order (paid_not_provisioned): the gateway's payment goes to the order workflow by signal-with-start and it resumes where it stopped. Safe to repeat. Answers 202.",
    params: mismatchParams,
    body: z.strictObject({}),
    response: mismatchSchema,
    successStatus: 202,
    idempotent: true,
    errors: ['NOT_FOUND', 'MISMATCH_NOT_REDRIVABLE', 'SERVICE_UNAVAILABLE', 'IDEMPOTENCY_KEY_REUSED'],
    handler: async ({ params, deps, principal }) => ({ body: await redriveMismatch(deps.db, deps.orders, params.reportId, params.mismatchId, principal!.id) }),
  }),
];
