/**
 * A seller's monthly statement: the invoices issued for its packages in a UTC calendar month and the
 * credit notes issued against them in that month, with totals per currency, as CSV rows and a PDF.
 * Deterministic like the invoices: the PDF's dates are the month's end, so a closed month renders the
 * same bytes each time.
 */
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { Database } from '../../platform/database';
import { BillingError } from '../../platform/errors';
import { formatMinor } from '../../platform/currencies';
import { getSeller } from '../sellers';
import { newDocument, toBuffer } from './pdf';

export interface StatementRow {
  kind: 'invoice' | 'credit_note';
  number: string;
  issuedAt: Date;
  orderId: string;
  currency: string;
  netMinor: number;
  taxMinor: number;
  totalMinor: number;
}

export interface StatementTotals {
  currency: string;
  invoicedMinor: number;
  creditedMinor: number;
  taxMinor: number;
  netMinor: number;
}

export interface SellerStatement {
  sellerId: string;
  sellerName: string;
  month: string;
  rows: StatementRow[];
  totals: StatementTotals[];
}

/** `2026-01` -> [2026-01-01T00:00Z, 2026-02-01T00:00Z). */
function monthRange(month: string): { from: Date; to: Date } {
  const match = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!match) throw new BillingError('VALIDATION_FAILED', 'Invalid month.', { issues: [{ path: 'params.month', message: 'must be YYYY-MM' }] });
  const year = Number(match[1]);
  const index = Number(match[2]) - 1;
  return { from: new Date(Date.UTC(year, index, 1)), to: new Date(Date.UTC(year, index + 1, 1)) };
}

export async function sellerStatement(db: Database, sellerId: string, month: string): Promise<SellerStatement> {
  const { from, to } = monthRange(month);
  const seller = await getSeller(db, sellerId);
  const period = { gte: from, lt: to };
  const [invoices, notes] = await Promise.all([
    db.invoice.findMany({ where: { sellerId, issuedAt: period }, orderBy: [{ issuedAt: 'asc' }, { id: 'asc' }] }),
    db.creditNote.findMany({ where: { invoice: { sellerId }, issuedAt: period }, orderBy: [{ issuedAt: 'asc' }, { id: 'asc' }] }),
  ]);
  const rows: StatementRow[] = [
    ...invoices.map((i) => ({ kind: 'invoice' as const, number: i.number, issuedAt: i.issuedAt, orderId: i.orderId, currency: i.currency, netMinor: i.netMinor, taxMinor: i.taxMinor, totalMinor: i.totalMinor })),
    ...notes.map((n) => ({ kind: 'credit_note' as const, number: n.number, issuedAt: n.issuedAt, orderId: n.orderId, currency: n.currency, netMinor: -n.netMinor, taxMinor: -n.taxMinor, totalMinor: -n.amountMinor })),
  ].sort((a, b) => a.issuedAt.getTime() - b.issuedAt.getTime() || a.number.localeCompare(b.number));
  const byCurrency = new Map<string, StatementTotals>();
  for (const row of rows) {
    const totals = byCurrency.get(row.currency) ?? { currency: row.currency, invoicedMinor: 0, creditedMinor: 0, taxMinor: 0, netMinor: 0 };
    if (row.kind === 'invoice') totals.invoicedMinor += row.totalMinor;
    else totals.creditedMinor -= row.totalMinor;
    totals.taxMinor += row.taxMinor;
    totals.netMinor += row.netMinor;
    byCurrency.set(row.currency, totals);
  }
  return { sellerId, sellerName: seller.name, month, rows, totals: [...byCurrency.values()].sort((a, b) => a.currency.localeCompare(b.currency)) };
}

const CSV_COLUMNS = ['kind', 'number', 'issued_at', 'order_id', 'currency', 'net_minor', 'tax_minor', 'total_minor'] as const;

/** One row per document, credit notes negative (RFC 4180, CRLF). */
export async function sellerStatementCsv(db: Database, sellerId: string, month: string): Promise<Readable> {
  const statement = await sellerStatement(db, sellerId, month);
  const csv = stringify({ header: true, columns: [...CSV_COLUMNS], record_delimiter: 'windows' });
  return Readable.from(
    statement.rows.map((row) => ({
      kind: row.kind,
      number: row.number,
      issued_at: row.issuedAt.toISOString(),
      order_id: row.orderId,
      currency: row.currency,
      net_minor: row.netMinor,
      tax_minor: row.taxMinor,
      total_minor: row.totalMinor,
    })),
  ).pipe(csv);
}

export async function sellerStatementPdf(db: Database, sellerId: string, month: string): Promise<Buffer> {
  const statement = await sellerStatement(db, sellerId, month);
  const doc = newDocument(`Statement ${statement.month} ${statement.sellerName}`, monthRange(month).to);
  doc.font('bold').fontSize(18).text(`Statement ${statement.month}`);
  doc.font('regular').fontSize(10).text(`Seller: ${statement.sellerName}`).moveDown();
  for (const row of statement.rows) {
    doc.text(`${row.issuedAt.toISOString().slice(0, 10)}  ${row.number}  ${formatMinor(row.totalMinor, row.currency)} (tax ${formatMinor(row.taxMinor, row.currency)})`);
  }
  doc.moveDown();
  for (const totals of statement.totals) {
    doc.font('bold').text(`${totals.currency}: invoiced ${formatMinor(totals.invoicedMinor, totals.currency)}, credited ${formatMinor(totals.creditedMinor, totals.currency)}, tax ${formatMinor(totals.taxMinor, totals.currency)}, net ${formatMinor(totals.netMinor, totals.currency)}`);
  }
  return toBuffer(doc);
}
