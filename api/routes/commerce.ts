import { z } from '../../platform/zod';
import { BillingError } from '../../platform/errors';
import { isKnownCurrency } from '../../platform/currencies';
import { createCoupon, getCoupon, listCoupons, updateCoupon, couponPreviewSchema, couponSchema } from '../../modules/coupons';
import { previewCoupon } from '../../modules/orders';
import { listPackagePrices, packagePricesSchema, setPackagePrices, salesByCurrency, salesByCurrencySchema } from '../../modules/pricing';
import { createSeller, getSeller, listSellers, updateSeller, earningsByPeriod, exportEarningsCsv, orderSplit, orderSplitSchema, sellerEarningsSchema, sellerSchema } from '../../modules/sellers';
import { getReport, listReports, requireReconcilableChannel, redriveMismatch, runReconciliation, mismatchSchema, reportSchema, reportSummarySchema } from '../../modules/reconciliation';
import { idFromKey } from '../../platform/idempotency/fingerprint';
import { coupon, examplePage, ids, mismatch, reconciliationSummary, seller } from '../examples';
import { defineRoute, type RouteDefinition } from '../route';
import { isoDate, pageOf, pageQuery, rangeInOrder, rangeInOrderIssue, uuidSchema } from '../schemas';
import { codeSchema, couponCodeSchema as promoCodeSchema, currencyCodeSchema } from '../../platform/schemas';

/** Commerce: prices by currency, coupons, sellers and their earnings, gateway reconciliation. Handlers call services only. */
const USER = ['user' as const];
const ADMIN = ['admin' as const];
const TAG = 'Commerce';

const RECONCILIATION_ID_NAMESPACE = '5b1f7c0e-8d2a-4c61-9a57-3f0e2d4b6a19';

const couponCodeSchema = promoCodeSchema.openapi({ example: 'LAUNCH20' });
const currencySchema = currencyCodeSchema
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

const couponsQuery = pageQuery({ default: 100, max: 500 }).extend({
  enabled: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});
/** The seller list answered everything before it paged: a first page this long keeps that. */
const sellersQuery = pageQuery({ default: 200, max: 500 }).strict();
const reconciliationsQuery = pageQuery().extend({ channel: codeSchema.optional() });

const pricesOf = { packageId: ids.package, packageCode: 'pro_monthly', items: [{ currency: 'USD', amountMinor: 999, default: true }, { currency: 'EUR', amountMinor: 949, default: false }, { currency: 'JPY', amountMinor: 1500, default: false }] };
const reconciliationReport = { ...reconciliationSummary, mismatches: [mismatch] };
const earningsEntry = { orderId: ids.order, currency: 'USD', grossMinor: 799, platformFeeMinor: 120, sellerShareMinor: 679, feeBasisPoints: 1500 };

export const commerceRoutes: RouteDefinition[] = [
  // --- prices by currency
  defineRoute({
    method: 'get',
    path: '/v1/packages/:packageCode/prices',
    access: 'public',
    tag: 'Public',
    operationId: 'listPackagePrices',
    summary: "Get a package's prices",
    description: "A package's prices in every currency it is sold in, the default first. Amounts are integer minor units of each currency; never converted.",
    params: z.strictObject({ packageCode: codeSchema }),
    response: packagePricesSchema,
    errors: ['NOT_FOUND'],
    unpaged: "A package's own price table: one price per currency, at most 50.",
    examples: { response: pricesOf },
    handler: async ({ params, deps }) => ({ body: await listPackagePrices(deps.db, params.packageCode) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/packages/:packageId/prices',
    access: ADMIN,
    tag: TAG,
    operationId: 'setPackagePrices',
    summary: "Replace a package's prices in other currencies",
    description:
      "Replaces a package's prices in other currencies (its own priceMinor and currency stay the default price); one price per currency, each currency in the currency table. Audited.",
    params: z.strictObject({ packageId: uuidSchema }),
    body: pricesBody,
    response: packagePricesSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'CURRENCY_NOT_SUPPORTED', 'IDEMPOTENCY_KEY_REUSED'],
    examples: {
      request: { prices: [{ currency: 'EUR', amountMinor: 949 }, { currency: 'JPY', amountMinor: 1500 }] },
      response: pricesOf,
    },
    handler: async ({ params, body, deps, idempotency, principal }) => setPackagePrices(deps.db, params.packageId, body.prices, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/statistics/sales',
    access: ADMIN,
    tag: TAG,
    operationId: 'getSalesByCurrency',
    summary: 'Sales by currency',
    description: 'Paid orders in [from, to) grouped by currency: list price, discounts, charged, refunded. Currencies are never added together.',
    query: rangeQuery,
    response: salesByCurrencySchema,
    unpaged: 'A report: one row per currency sold in.',
    examples: {
      response: {
        items: [
          { currency: 'EUR', orders: 140, listAmountMinor: 132_860, discountMinor: 9_490, amountMinor: 123_370, refundedMinor: 949 },
          { currency: 'USD', orders: 412, listAmountMinor: 411_588, discountMinor: 28_000, amountMinor: 383_588, refundedMinor: 1_598 },
        ],
      },
    },
    handler: async ({ query, deps }) => ({ body: await salesByCurrency(deps.db, query) }),
  }),
  // --- coupons
  defineRoute({
    method: 'get',
    path: '/v1/admin/coupons',
    access: ADMIN,
    tag: TAG,
    operationId: 'listCoupons',
    summary: 'List coupons',
    description: 'Coupons with their use counts, newest first; enabled=true or false filters.',
    query: couponsQuery,
    response: pageOf(couponSchema).openapi('CouponList'),
    examples: { response: examplePage(coupon) },
    handler: async ({ query, deps }) => {
      const { limit, cursor, enabled } = query;
      return { body: await listCoupons(deps.db, { enabled }, { limit, cursor }) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/coupons',
    access: ADMIN,
    tag: TAG,
    operationId: 'createCoupon',
    summary: 'Create a coupon',
    description:
      'A promo code: percent (basis points) or fixed (minor units per currency), with a validity window, total and per-user limits, and package and first-purchase restrictions. Audited.',
    body: createCouponBody,
    response: couponSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['ALREADY_EXISTS', 'NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: {
      request: {
        code: 'LAUNCH20',
        kind: 'percent',
        percentBasisPoints: 2000,
        validFrom: '2026-01-01T00:00:00Z',
        validUntil: '2026-03-31T23:59:59Z',
        maxRedemptions: 1000,
        maxPerUser: 1,
        packageCodes: ['pro_monthly'],
        firstPurchaseOnly: true,
      },
      response: { ...coupon, usedCount: 0 },
    },
    handler: async ({ body, deps, idempotency, principal }) => createCoupon(deps.db, body, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/coupons/:code',
    access: ADMIN,
    tag: TAG,
    operationId: 'getCoupon',
    summary: 'Get a coupon',
    description: 'One coupon by code with its current use count (uses held by unpaid orders and confirmed by paid ones).',
    params: couponParams,
    response: couponSchema,
    errors: ['NOT_FOUND'],
    examples: { response: coupon },
    handler: async ({ params, deps }) => ({ body: await getCoupon(deps.db, params.code) }),
  }),
  defineRoute({
    method: 'patch',
    path: '/v1/admin/coupons/:code',
    access: ADMIN,
    tag: TAG,
    operationId: 'updateCoupon',
    summary: 'Change a coupon',
    description: 'Enable or disable a coupon, or change its window, limits or restrictions; there is no delete: disable it with `enabled: false`. Audited.',
    params: couponParams,
    body: patchCouponBody,
    response: couponSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { request: { enabled: false }, response: { ...coupon, enabled: false } },
    handler: async ({ params, body, deps, idempotency, principal }) => updateCoupon(deps.db, params.code, body, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/me/coupons/preview',
    access: USER,
    tag: 'User',
    operationId: 'previewMyCoupon',
    summary: 'Preview a coupon',
    description: 'What a code would take off a package in a currency for me, or the stable reason it does not apply. Changes nothing and holds no use.',
    body: previewBody,
    response: couponPreviewSchema,
    errors: ['NOT_FOUND', 'PACKAGE_UNAVAILABLE', 'CURRENCY_NOT_SUPPORTED'],
    examples: {
      request: { code: 'LAUNCH20', packageCode: 'pro_monthly', currency: 'USD' },
      response: { code: 'LAUNCH20', applicable: true, reason: null, packageCode: 'pro_monthly', currency: 'USD', listAmountMinor: 999, discountMinor: 200, amountMinor: 799, limitedByMinimum: false, taxMinor: 0, totalMinor: 799 },
    },
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
    operationId: 'listSellers',
    summary: 'List sellers',
    description: 'Sellers (creators), oldest first, with their platform fee and the packages they own.',
    query: sellersQuery,
    response: pageOf(sellerSchema).openapi('SellerList'),
    examples: { response: examplePage(seller) },
    handler: async ({ query, deps }) => ({ body: await listSellers(deps.db, query) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/sellers',
    access: ADMIN,
    tag: TAG,
    operationId: 'createSeller',
    summary: 'Create a seller',
    description:
      'A seller owns packages and earns their sales less the platform fee, in basis points (default 1500 = 15 %). A package belongs to one seller at most. Audited.',
    body: createSellerBody,
    response: sellerSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['ALREADY_EXISTS', 'NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { request: { code: seller.code, name: seller.name, packageCodes: ['pro_monthly'] }, response: seller },
    handler: async ({ body, deps, idempotency, principal }) => createSeller(deps.db, body, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/sellers/:sellerId',
    access: ADMIN,
    tag: TAG,
    operationId: 'getSeller',
    summary: 'Get a seller',
    description: 'One seller with its fee and packages.',
    params: sellerParams,
    response: sellerSchema,
    errors: ['NOT_FOUND'],
    examples: { response: seller },
    handler: async ({ params, deps }) => ({ body: await getSeller(deps.db, params.sellerId) }),
  }),
  defineRoute({
    method: 'patch',
    path: '/v1/admin/sellers/:sellerId',
    access: ADMIN,
    tag: TAG,
    operationId: 'updateSeller',
    summary: 'Change a seller',
    description: "Change a seller's name, fee (applies to later payments only), packages or enabled flag; there is no delete: disable it with `enabled: false`. Audited.",
    params: sellerParams,
    body: patchSellerBody,
    response: sellerSchema,
    idempotent: true,
    errors: ['NOT_FOUND', 'ALREADY_EXISTS', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { request: { platformFeeBasisPoints: 1200 }, response: { ...seller, platformFeeBasisPoints: 1200, updatedAt: '2026-01-31T09:00:00.000Z' } },
    handler: async ({ params, body, deps, idempotency, principal }) => updateSeller(deps.db, params.sellerId, body, idempotency, principal!.id),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/sellers/:sellerId/earnings',
    access: ADMIN,
    tag: TAG,
    operationId: 'getSellerEarnings',
    summary: "A seller's earnings",
    description: "A seller's earnings per UTC day or month and currency in [from, to): gross, platform fee, seller share (refunds count negative).",
    params: sellerParams,
    query: earningsQuery,
    response: sellerEarningsSchema,
    errors: ['NOT_FOUND'],
    unpaged: 'A report: one row per period and currency in the range asked for.',
    examples: {
      response: {
        sellerId: ids.seller,
        granularity: 'day',
        items: [{ period: '2026-01-20T00:00:00.000Z', currency: 'USD', sales: 3, refunds: 1, grossMinor: 1598, platformFeeMinor: 240, sellerShareMinor: 1358 }],
      },
    },
    handler: async ({ params, query, deps }) => ({ body: await earningsByPeriod(deps.db, params.sellerId, query) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/sellers/:sellerId/earnings/export.csv',
    access: ADMIN,
    tag: TAG,
    operationId: 'exportSellerEarningsCsv',
    summary: "Export a seller's earnings as CSV",
    description: "A seller's earnings ledger entries in [from, to) as CSV (RFC 4180), oldest first, at most 100000 rows; text cells are formula-escaped.",
    params: sellerParams,
    query: rangeQuery,
    response: z.string(),
    produces: 'text/csv',
    errors: ['NOT_FOUND'],
    examples: {
      response: `id,occurred_at,kind,order_id,currency,gross_minor,platform_fee_minor,seller_share_minor,fee_basis_points\r\n311,2026-01-20T08:02:12.000Z,sale,${ids.order},USD,799,120,679,1500\r\n`,
    },
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
    operationId: 'getOrderSplit',
    summary: "Get an order's revenue split",
    description: 'The revenue split an order recorded (the sale, then one reversal per refund) and its net; empty when the package has no seller.',
    params: z.strictObject({ orderId: uuidSchema }),
    response: orderSplitSchema,
    errors: ['NOT_FOUND'],
    examples: {
      response: {
        orderId: ids.order,
        sellerId: ids.seller,
        entries: [{ id: '311', kind: 'sale', ...earningsEntry, occurredAt: '2026-01-20T08:02:12.000Z' }],
        net: { grossMinor: 799, platformFeeMinor: 120, sellerShareMinor: 679 },
      },
    },
    handler: async ({ params, deps }) => ({ body: await orderSplit(deps.db, params.orderId) }),
  }),
  // --- gateway reconciliation
  defineRoute({
    method: 'post',
    path: '/v1/admin/reconciliations',
    access: ADMIN,
    tag: TAG,
    operationId: 'reconcileChannel',
    summary: "Reconcile a channel's payments now",
    description:
      "Compares a channel's payments with the gateway's records for [from, to) (at most 31 days) now, and answers the kept report with its mismatches. The daily Schedule does the same for every channel.",
    body: reconcileBody,
    response: reportSchema,
    successStatus: 201,
    idempotent: true,
    errors: ['NOT_FOUND', 'CHANNEL_UNAVAILABLE', 'PAYMENT_PROVIDER_ERROR', 'SERVICE_UNAVAILABLE', 'IDEMPOTENCY_KEY_REUSED'],
    examples: {
      request: { channel: 'stripe', from: '2026-01-30T00:00:00Z', to: '2026-01-31T00:00:00Z' },
      response: { ...reconciliationReport, trigger: 'admin:admin-key-1' },
    },
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
    operationId: 'listReconciliations',
    summary: 'List reconciliation reports',
    description: 'Kept reconciliation reports (scheduled and run by an operator), newest first, by channel.',
    query: reconciliationsQuery,
    response: pageOf(reportSummarySchema).openapi('ReconciliationReportList'),
    examples: { response: examplePage(reconciliationSummary) },
    handler: async ({ query, deps }) => {
      const { limit, cursor, channel } = query;
      return { body: await listReports(deps.db, { channel }, { limit, cursor }) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/reconciliations/:reportId',
    access: ADMIN,
    tag: TAG,
    operationId: 'getReconciliation',
    summary: 'Get a reconciliation report',
    description: 'One report with its mismatches.',
    params: reportParams,
    response: reportSchema,
    errors: ['NOT_FOUND'],
    examples: { response: reconciliationReport },
    handler: async ({ params, deps }) => ({ body: await getReport(deps.db, params.reportId) }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/admin/reconciliations/:reportId/mismatches/:mismatchId/redrive',
    access: ADMIN,
    tag: TAG,
    operationId: 'redriveMismatch',
    summary: 'Re-drive a stuck order',
    description:
      "Re-drives an order the gateway says was paid but that was never provisioned (paid_not_provisioned): the gateway's payment goes to the order workflow by signal-with-start and it resumes where it stopped. Safe to repeat. Answers 202.",
    params: mismatchParams,
    body: z.strictObject({}),
    response: mismatchSchema,
    successStatus: 202,
    idempotent: true,
    errors: ['NOT_FOUND', 'MISMATCH_NOT_REDRIVABLE', 'SERVICE_UNAVAILABLE', 'IDEMPOTENCY_KEY_REUSED'],
    examples: { request: {}, response: { ...mismatch, redrivenAt: '2026-01-31T09:15:00.000Z', redrivenBy: 'admin-key-1' } },
    handler: async ({ params, deps, principal }) => ({ body: await redriveMismatch(deps.db, deps.orders, params.reportId, params.mismatchId, principal!.id) }),
  }),
];
