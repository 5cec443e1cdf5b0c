import { Readable } from 'node:stream';
import { z } from '../../platform/zod';
import { BillingError } from '../../platform/errors';
import {
  billingDetailsSchema,
  creditNoteSchema,
  exportInvoicesCsv,
  getBillingDetails,
  getCreditNote,
  getInvoice,
  invoiceSchema,
  invoiceStatusSchema,
  listCreditNotes,
  listInvoices,
  putBillingDetails,
  renderCreditNotePdf,
  renderInvoicePdf,
  sellerStatementCsv,
  sellerStatementPdf,
  type CreditNoteView,
  type InvoiceView,
} from '../../modules/invoices';
import type { Principal } from '../auth';
import { defineRoute, type RouteDefinition } from '../route';
import { examplePage, ids } from '../examples';
import { isoDate, pageOf, pageQuery, rangeInOrder, rangeInOrderIssue, userIdSchema, uuidSchema } from '../schemas';

/** Invoices and credit notes (user: their own; admin: all), and the user's billing details. Handlers call invoices/ only. */
const USER = ['user' as const];
const ADMIN = ['admin' as const];
const TAG = 'Invoices';

function ownUserId(principal: Principal | undefined): string {
  if (!principal?.userId) throw new BillingError('FORBIDDEN', 'This credential is not bound to a user.');
  return principal.userId;
}

const invoiceParams = z.strictObject({ invoiceId: uuidSchema });
const creditNoteParams = z.strictObject({ creditNoteId: uuidSchema });
const statementParams = z.strictObject({
  sellerId: uuidSchema,
  month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'YYYY-MM').openapi({ description: 'The calendar month (UTC), YYYY-MM.', example: '2026-01' }),
});
const currencySchema = z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code in upper case');
const invoiceList = pageOf(invoiceSchema).openapi('InvoiceList');
const creditNoteList = pageOf(creditNoteSchema).openapi('CreditNoteList');
const myListQuery = pageQuery().extend({ from: isoDate.optional(), to: isoDate.optional() }).refine(rangeInOrder, rangeInOrderIssue);
const adminFilter = z.object({
  from: isoDate.optional(),
  to: isoDate.optional(),
  sellerId: uuidSchema.optional(),
  userId: userIdSchema.optional(),
  currency: currencySchema.optional(),
  status: invoiceStatusSchema.optional(),
});
const adminInvoicesQuery = pageQuery().extend(adminFilter.shape).refine(rangeInOrder, rangeInOrderIssue);
const adminCsvQuery = adminFilter.refine(rangeInOrder, rangeInOrderIssue);
const adminCreditNotesQuery = pageQuery()
  .extend({ from: isoDate.optional(), to: isoDate.optional(), userId: userIdSchema.optional(), invoiceId: uuidSchema.optional(), currency: currencySchema.optional() })
  .refine(rangeInOrder, rangeInOrderIssue);
const billingDetailsBody = z.strictObject({
  name: z.string().trim().min(1).max(200).openapi({ description: 'Name on invoices (a person or a company); any script.', example: '王小明' }),
  address: z.string().trim().max(500).optional(),
  country: z.string().regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2 in upper case').nullable().optional().openapi({ description: 'Decides the tax rate of later invoices.' }),
  taxId: z.string().trim().min(1).max(50).nullable().optional(),
});

const party = { name: 'Durable Billing', address: '1 Example Street, Berlin', country: 'DE', taxId: 'DE123456789' };
const invoice: InvoiceView = {
  id: ids.invoice,
  number: 'DB-2026-000123',
  orderId: ids.order,
  userId: ids.user,
  status: 'issued',
  issuedAt: '2026-01-20T08:02:12.000Z',
  seller: party,
  platform: party,
  buyer: { userId: ids.user, name: '王小明', address: 'Unter den Linden 1, Berlin', country: 'DE', taxId: null },
  lines: [
    {
      description: 'Pro monthly',
      packageCode: 'pro_monthly',
      quantity: 1,
      listPriceMinor: 999,
      discountMinor: 200,
      couponCode: 'LAUNCH20',
      grossMinor: 799,
      netMinor: 671,
      taxMinor: 128,
      rateBasisPoints: 1900,
    },
  ],
  taxMode: 'inclusive',
  currency: 'EUR',
  netMinor: 671,
  taxMinor: 128,
  totalMinor: 799,
  creditedMinor: 0,
  paymentSource: 'stripe',
  paymentReference: 'pi_3QabcXYZ',
};
const creditNote: CreditNoteView = {
  id: ids.creditNote,
  number: 'CN-2026-000007',
  invoiceId: ids.invoice,
  invoiceNumber: 'DB-2026-000123',
  orderId: ids.order,
  refundId: ids.orderRefund,
  userId: ids.user,
  issuedAt: '2026-01-22T10:00:00.000Z',
  currency: 'EUR',
  netMinor: 336,
  taxMinor: 64,
  amountMinor: 400,
  taxRateBasisPoints: 1900,
  reason: 'Customer asked within the refund window.',
};
const billingDetails = { name: '王小明', address: 'Unter den Linden 1, Berlin', country: 'DE', taxId: null, updatedAt: '2026-01-19T09:00:00.000Z' };
const PDF_EXAMPLE = '%PDF-1.3 …';

function pdfResult(pdf: Buffer, filename: string) {
  return { stream: Readable.from([pdf]), contentType: 'application/pdf', headers: { 'Content-Disposition': `inline; filename="${filename}.pdf"` } };
}

export const invoiceRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'put',
    path: '/v1/me/billing-details',
    access: USER,
    tag: 'User',
    operationId: 'replaceMyBillingDetails',
    summary: 'Set my billing details',
    description: 'The name, address, country and tax id printed on my later invoices (the country also picks the tax rate). Invoices already issued keep what they were issued with. PUT is idempotent by itself: no Idempotency-Key is needed.',
    body: billingDetailsBody,
    response: billingDetailsSchema,
    examples: { request: { name: '王小明', address: 'Unter den Linden 1, Berlin', country: 'DE' }, response: billingDetails },
    handler: async ({ principal, body, deps }) => ({ body: await putBillingDetails(deps.db, ownUserId(principal), body) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/billing-details',
    access: USER,
    tag: 'User',
    operationId: 'getMyBillingDetails',
    summary: 'Get my billing details',
    description: 'What my later invoices will carry; NOT_FOUND until I have set them (invoices then carry my user id as the name).',
    response: billingDetailsSchema,
    errors: ['NOT_FOUND'],
    examples: { response: billingDetails },
    handler: async ({ principal, deps }) => {
      const details = await getBillingDetails(deps.db, ownUserId(principal));
      if (!details) throw new BillingError('NOT_FOUND', 'No billing details set.');
      return { body: details };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/invoices',
    access: USER,
    tag: 'User',
    operationId: 'listMyInvoices',
    summary: 'List my invoices',
    description: 'My invoices (one per paid order), newest first, optionally issued in [from, to).',
    query: myListQuery,
    response: invoiceList,
    examples: { response: examplePage(invoice) },
    handler: async ({ principal, query, deps }) => ({ body: await listInvoices(deps.db, { userId: ownUserId(principal), from: query.from, to: query.to }, query) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/invoices/:invoiceId',
    access: USER,
    tag: 'User',
    operationId: 'getMyInvoice',
    summary: 'Get one of my invoices',
    description: "One of my invoices with its lines, tax and how much credit notes have taken back. Another user's invoice is NOT_FOUND.",
    params: invoiceParams,
    response: invoiceSchema,
    errors: ['NOT_FOUND'],
    examples: { response: invoice },
    handler: async ({ principal, params, deps }) => ({ body: await getInvoice(deps.db, params.invoiceId, ownUserId(principal)) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/invoices/:invoiceId/pdf',
    access: USER,
    tag: 'User',
    operationId: 'getMyInvoicePdf',
    summary: 'Download one of my invoices as PDF',
    description: "The invoice as a PDF; the same invoice always gives the same bytes. Another user's invoice is NOT_FOUND.",
    params: invoiceParams,
    response: z.string(),
    produces: 'application/pdf',
    errors: ['NOT_FOUND'],
    examples: { response: PDF_EXAMPLE },
    handler: async ({ principal, params, deps }) => {
      const found = await getInvoice(deps.db, params.invoiceId, ownUserId(principal));
      return pdfResult(await renderInvoicePdf(found), found.number);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/credit-notes',
    access: USER,
    tag: 'User',
    operationId: 'listMyCreditNotes',
    summary: 'List my credit notes',
    description: 'My credit notes (one per settled refund), newest first, optionally issued in [from, to).',
    query: myListQuery,
    response: creditNoteList,
    examples: { response: examplePage(creditNote) },
    handler: async ({ principal, query, deps }) => ({ body: await listCreditNotes(deps.db, { userId: ownUserId(principal), from: query.from, to: query.to }, query) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/credit-notes/:creditNoteId',
    access: USER,
    tag: 'User',
    operationId: 'getMyCreditNote',
    summary: 'Get one of my credit notes',
    description: "One of my credit notes and the invoice it credits. Another user's credit note is NOT_FOUND.",
    params: creditNoteParams,
    response: creditNoteSchema,
    errors: ['NOT_FOUND'],
    examples: { response: creditNote },
    handler: async ({ principal, params, deps }) => ({ body: await getCreditNote(deps.db, params.creditNoteId, ownUserId(principal)) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/credit-notes/:creditNoteId/pdf',
    access: USER,
    tag: 'User',
    operationId: 'getMyCreditNotePdf',
    summary: 'Download one of my credit notes as PDF',
    description: "The credit note as a PDF, with the parties of the invoice it credits. Another user's credit note is NOT_FOUND.",
    params: creditNoteParams,
    response: z.string(),
    produces: 'application/pdf',
    errors: ['NOT_FOUND'],
    examples: { response: PDF_EXAMPLE },
    handler: async ({ principal, params, deps }) => {
      const userId = ownUserId(principal);
      const note = await getCreditNote(deps.db, params.creditNoteId, userId);
      return pdfResult(await renderCreditNotePdf(note, await getInvoice(deps.db, note.invoiceId, userId)), note.number);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/invoices',
    access: ADMIN,
    tag: TAG,
    operationId: 'listInvoices',
    summary: 'List invoices',
    description: 'Invoices newest first, by issue period [from, to), seller, user, currency and status (issued, partially_credited, credited).',
    query: adminInvoicesQuery,
    response: invoiceList,
    examples: { response: examplePage(invoice) },
    handler: async ({ query, deps }) => ({ body: await listInvoices(deps.db, query, query) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/invoices/export.csv',
    access: ADMIN,
    tag: TAG,
    operationId: 'exportInvoicesCsv',
    summary: 'Export invoices as CSV',
    description: 'The invoices the same filters select, oldest first, as CSV (RFC 4180), at most 100000 rows; text cells are formula-escaped.',
    query: adminCsvQuery,
    response: z.string(),
    produces: 'text/csv',
    examples: {
      response: `number,issued_at,status,order_id,user_id,buyer_name,buyer_country,seller,currency,net_minor,tax_minor,total_minor,credited_minor,payment_source,payment_reference\r\nDB-2026-000123,2026-01-20T08:02:12.000Z,issued,${ids.order},${ids.user},王小明,DE,Durable Billing,EUR,671,128,799,0,stripe,pi_3QabcXYZ\r\n`,
    },
    handler: async ({ query, deps }) => ({
      stream: await exportInvoicesCsv(deps.db, query),
      contentType: 'text/csv; charset=utf-8',
      headers: { 'Content-Disposition': 'attachment; filename="invoices.csv"' },
    }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/invoices/:invoiceId',
    access: ADMIN,
    tag: TAG,
    operationId: 'getInvoice',
    summary: 'Get an invoice',
    description: 'Any invoice, with how much its credit notes have taken back.',
    params: invoiceParams,
    response: invoiceSchema,
    errors: ['NOT_FOUND'],
    examples: { response: invoice },
    handler: async ({ params, deps }) => ({ body: await getInvoice(deps.db, params.invoiceId) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/invoices/:invoiceId/pdf',
    access: ADMIN,
    tag: TAG,
    operationId: 'getInvoicePdf',
    summary: 'Download an invoice as PDF',
    description: 'Any invoice as the PDF its buyer gets.',
    params: invoiceParams,
    response: z.string(),
    produces: 'application/pdf',
    errors: ['NOT_FOUND'],
    examples: { response: PDF_EXAMPLE },
    handler: async ({ params, deps }) => {
      const found = await getInvoice(deps.db, params.invoiceId);
      return pdfResult(await renderInvoicePdf(found), found.number);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/credit-notes',
    access: ADMIN,
    tag: TAG,
    operationId: 'listCreditNotes',
    summary: 'List credit notes',
    description: 'Credit notes newest first, by issue period [from, to), user, invoice and currency.',
    query: adminCreditNotesQuery,
    response: creditNoteList,
    examples: { response: examplePage(creditNote) },
    handler: async ({ query, deps }) => ({ body: await listCreditNotes(deps.db, query, query) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/sellers/:sellerId/statements/:month/csv',
    access: ADMIN,
    tag: TAG,
    operationId: 'exportSellerStatementCsv',
    summary: "Export a seller's monthly statement as CSV",
    description: "The invoices issued for the seller's packages in the month (UTC) and the credit notes issued against them in it (negative), oldest first, as CSV (RFC 4180).",
    params: statementParams,
    response: z.string(),
    produces: 'text/csv',
    errors: ['NOT_FOUND'],
    examples: {
      response: `kind,number,issued_at,order_id,currency,net_minor,tax_minor,total_minor\r\ninvoice,DB-2026-000123,2026-01-20T08:02:12.000Z,${ids.order},EUR,671,128,799\r\n`,
    },
    handler: async ({ params, deps }) => ({
      stream: await sellerStatementCsv(deps.db, params.sellerId, params.month),
      contentType: 'text/csv; charset=utf-8',
      headers: { 'Content-Disposition': `attachment; filename="statement-${params.month}.csv"` },
    }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/sellers/:sellerId/statements/:month/pdf',
    access: ADMIN,
    tag: TAG,
    operationId: 'getSellerStatementPdf',
    summary: "Download a seller's monthly statement as PDF",
    description: "The same statement as the CSV, with totals per currency (invoiced, credited, tax, net); a closed month renders the same bytes each time.",
    params: statementParams,
    response: z.string(),
    produces: 'application/pdf',
    errors: ['NOT_FOUND'],
    examples: { response: PDF_EXAMPLE },
    handler: async ({ params, deps }) => pdfResult(await sellerStatementPdf(deps.db, params.sellerId, params.month), `statement-${params.month}`),
  }),
];
