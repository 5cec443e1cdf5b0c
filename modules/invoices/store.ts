/**
 * Reading invoices and credit notes (a user's own, or any for an admin), the admin's CSV export, and
 * the buyer's billing details. Another user's document is NOT_FOUND, so its existence is not revealed.
 */
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { Prisma } from '../../generated/prisma/client';
import type { Database } from '../../platform/database';
import { BillingError } from '../../platform/errors';
import { keysetOrder, type Page, type PageRequest } from '../../platform/pagination';
import { billingDetailsView, creditNoteView, invoiceView, type BillingDetailsView, type CreditNoteView, type InvoiceStatus, type InvoiceView } from './views';

/** Newest issue first; the uuid breaks ties. */
const NEWEST_ISSUED = keysetOrder({ field: 'issuedAt', direction: 'desc', kind: 'date' }, { field: 'id', direction: 'desc', kind: 'uuid' });

const WITH_CREDITS = { creditNotes: { select: { amountMinor: true } } } as const;
type InvoiceWithCredits = Prisma.InvoiceGetPayload<{ include: typeof WITH_CREDITS }>;

function viewWithCredits(invoice: InvoiceWithCredits): InvoiceView {
  return invoiceView(invoice, invoice.creditNotes.reduce((sum, note) => sum + note.amountMinor, 0));
}

export async function getInvoice(db: Database, invoiceId: string, userId?: string): Promise<InvoiceView> {
  const invoice = await db.invoice.findUnique({ where: { id: invoiceId }, include: WITH_CREDITS });
  if (!invoice || (userId !== undefined && invoice.userId !== userId)) throw new BillingError('NOT_FOUND', `Invoice ${invoiceId} not found.`, { invoiceId });
  return viewWithCredits(invoice);
}

/** The invoice of an order, or null (an order paid before invoicing began, or not paid). */
export async function invoiceForOrder(db: Database, orderId: string): Promise<InvoiceView | null> {
  const invoice = await db.invoice.findUnique({ where: { orderId }, include: WITH_CREDITS });
  return invoice ? viewWithCredits(invoice) : null;
}

export interface InvoiceFilter {
  userId?: string | undefined;
  sellerId?: string | undefined;
  currency?: string | undefined;
  status?: InvoiceStatus | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/** Ids of invoices whose credit notes put them in `status` (credit notes are few next to invoices). */
async function idsByStatus(db: Database, status: InvoiceStatus): Promise<Prisma.InvoiceWhereInput> {
  if (status === 'issued') return { creditNotes: { none: {} } };
  const rows = await db.$queryRaw<Array<{ id: string }>>`
    SELECT i.id::text AS id FROM invoices i JOIN credit_notes c ON c.invoice_id = i.id
     GROUP BY i.id, i.total_minor
    HAVING ${status === 'credited' ? Prisma.sql`SUM(c.amount_minor) >= i.total_minor` : Prisma.sql`SUM(c.amount_minor) < i.total_minor`}`;
  return { id: { in: rows.map((row) => row.id) } };
}

async function invoiceWhere(db: Database, filter: InvoiceFilter): Promise<Prisma.InvoiceWhereInput> {
  return {
    ...(filter.userId ? { userId: filter.userId } : {}),
    ...(filter.sellerId ? { sellerId: filter.sellerId } : {}),
    ...(filter.currency ? { currency: filter.currency } : {}),
    ...(filter.from || filter.to
      ? { issuedAt: { ...(filter.from ? { gte: new Date(filter.from) } : {}), ...(filter.to ? { lt: new Date(filter.to) } : {}) } }
      : {}),
    ...(filter.status ? await idsByStatus(db, filter.status) : {}),
  };
}

/** Newest first. */
export async function listInvoices(db: Database, filter: InvoiceFilter, page: PageRequest): Promise<Page<InvoiceView>> {
  const where = await invoiceWhere(db, filter);
  const rows = await db.invoice.findMany({
    where: { AND: [where, NEWEST_ISSUED.after(page.cursor)] },
    include: WITH_CREDITS,
    orderBy: NEWEST_ISSUED.orderBy,
    take: NEWEST_ISSUED.take(page),
  });
  return NEWEST_ISSUED.page(rows, page, viewWithCredits);
}

const CREDIT_NOTE_INCLUDE = { invoice: { select: { number: true } } } as const;

export async function getCreditNote(db: Database, creditNoteId: string, userId?: string): Promise<CreditNoteView> {
  const note = await db.creditNote.findUnique({ where: { id: creditNoteId }, include: CREDIT_NOTE_INCLUDE });
  if (!note || (userId !== undefined && note.userId !== userId)) throw new BillingError('NOT_FOUND', `Credit note ${creditNoteId} not found.`, { creditNoteId });
  return creditNoteView(note);
}

/** Newest first; by user, invoice and period. */
export async function listCreditNotes(
  db: Database,
  filter: { userId?: string | undefined; invoiceId?: string | undefined; currency?: string | undefined; from?: string | undefined; to?: string | undefined },
  page: PageRequest,
): Promise<Page<CreditNoteView>> {
  const where: Prisma.CreditNoteWhereInput = {
    ...(filter.userId ? { userId: filter.userId } : {}),
    ...(filter.invoiceId ? { invoiceId: filter.invoiceId } : {}),
    ...(filter.currency ? { currency: filter.currency } : {}),
    ...(filter.from || filter.to
      ? { issuedAt: { ...(filter.from ? { gte: new Date(filter.from) } : {}), ...(filter.to ? { lt: new Date(filter.to) } : {}) } }
      : {}),
  };
  const rows = await db.creditNote.findMany({
    where: { AND: [where, NEWEST_ISSUED.after(page.cursor)] },
    include: CREDIT_NOTE_INCLUDE,
    orderBy: NEWEST_ISSUED.orderBy,
    take: NEWEST_ISSUED.take(page),
  });
  return NEWEST_ISSUED.page(rows, page, creditNoteView);
}

/** A spreadsheet cannot run a cell that starts like a formula. */
function neutraliseFormula(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

const CSV_COLUMNS = ['number', 'issued_at', 'status', 'order_id', 'user_id', 'buyer_name', 'buyer_country', 'seller', 'currency', 'net_minor', 'tax_minor', 'total_minor', 'credited_minor', 'payment_source', 'payment_reference'] as const;
const CSV_MAX_ROWS = 100_000;

/** The invoices matching the admin filter, oldest first, as CSV (RFC 4180, CRLF), at most 100000 rows. */
export async function exportInvoicesCsv(db: Database, filter: InvoiceFilter): Promise<Readable> {
  const where = await invoiceWhere(db, filter);
  const rows = await db.invoice.findMany({ where, include: WITH_CREDITS, orderBy: [{ issuedAt: 'asc' }, { id: 'asc' }], take: CSV_MAX_ROWS });
  const records = rows.map((row) => {
    const view = viewWithCredits(row);
    return {
      number: view.number,
      issued_at: view.issuedAt,
      status: view.status,
      order_id: view.orderId,
      user_id: view.userId,
      buyer_name: view.buyer.name,
      buyer_country: view.buyer.country ?? '',
      seller: view.seller.name,
      currency: view.currency,
      net_minor: view.netMinor,
      tax_minor: view.taxMinor,
      total_minor: view.totalMinor,
      credited_minor: view.creditedMinor,
      payment_source: view.paymentSource,
      payment_reference: view.paymentReference,
    };
  });
  const csv = stringify({ header: true, columns: [...CSV_COLUMNS], record_delimiter: 'windows', cast: { string: neutraliseFormula } });
  return Readable.from(records).pipe(csv);
}

export async function getBillingDetails(db: Database, userId: string): Promise<BillingDetailsView | null> {
  const details = await db.billingDetails.findUnique({ where: { userId } });
  return details ? billingDetailsView(details) : null;
}

export interface BillingDetailsInput {
  name: string;
  address?: string | undefined;
  country?: string | null | undefined;
  taxId?: string | null | undefined;
}

/** Replaces the user's billing details; invoices already issued keep the copy they were issued with. */
export async function putBillingDetails(db: Database, userId: string, input: BillingDetailsInput): Promise<BillingDetailsView> {
  const data = { name: input.name, address: input.address ?? '', country: input.country ?? null, taxId: input.taxId ?? null, updatedAt: new Date() };
  const details = await db.billingDetails.upsert({ where: { userId }, create: { userId, ...data }, update: data });
  return billingDetailsView(details);
}
