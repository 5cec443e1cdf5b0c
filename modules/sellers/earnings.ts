/**
 * The sellers' earnings ledger (append-only; a trigger rejects UPDATE and DELETE): one `sale` entry
 * when a seller's order is paid, one `refund` entry (negative) per refund, split by
 * modules/sellers/rules/revenue-split.ts. Each is booked once by its source key, in the transaction that records the
 * payment or settles the refund. Reads: an order's split, earnings by period and currency, CSV.
 */
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { BillingError } from '../../platform/errors';
import { reverseSplit, splitRevenue } from './rules/revenue-split';
import { Prisma } from '../../generated/prisma/client';
import type { Database, Tx } from '../../platform/database';
import { earningEntryView, type OrderSplitView, type SellerEarningsView } from './views';

/** At payment: if the order's package belongs to a seller, book the sale's split (once). */
export async function recordSale(tx: Tx, orderId: string, paid: { amountMinor: number; currency: string }): Promise<void> {
  const order = await tx.order.findUniqueOrThrow({ where: { id: orderId }, select: { packageId: true } });
  const owner = await tx.sellerPackage.findUnique({ where: { packageId: order.packageId } });
  if (!owner) return;
  const seller = await tx.seller.findUniqueOrThrow({ where: { id: owner.sellerId } });
  const split = splitRevenue(paid.amountMinor, seller.platformFeeBasisPoints);
  await tx.sellerEarningEntry.createMany({
    data: [
      {
        sourceKey: `sale:${orderId}`,
        sellerId: seller.id,
        orderId,
        kind: 'sale',
        currency: paid.currency,
        grossMinor: paid.amountMinor,
        ...split,
        feeBasisPoints: seller.platformFeeBasisPoints,
      },
    ],
    skipDuplicates: true,
  });
}

/** When a refund settles: reverse its proportion of the sale's split (once per refund). */
export async function reverseSaleForRefund(tx: Tx, orderId: string, refundId: string, refundedBeforeMinor: number, refundMinor: number): Promise<void> {
  const sale = await tx.sellerEarningEntry.findUnique({ where: { sourceKey: `sale:${orderId}` } });
  if (!sale) return;
  const reversal = reverseSplit(sale, refundedBeforeMinor, refundMinor);
  await tx.sellerEarningEntry.createMany({
    data: [
      {
        sourceKey: `refund:${refundId}`,
        sellerId: sale.sellerId,
        orderId,
        kind: 'refund',
        currency: sale.currency,
        grossMinor: -refundMinor,
        platformFeeMinor: -reversal.platformFeeMinor,
        sellerShareMinor: -reversal.sellerShareMinor,
        feeBasisPoints: sale.feeBasisPoints,
      },
    ],
    skipDuplicates: true,
  });
}

export async function orderSplit(db: Database, orderId: string): Promise<OrderSplitView> {
  if (!(await db.order.findUnique({ where: { id: orderId }, select: { id: true } }))) throw new BillingError('NOT_FOUND', `Order ${orderId} not found.`, { orderId });
  const entries = await db.sellerEarningEntry.findMany({ where: { orderId }, orderBy: { id: 'asc' } });
  const sum = (pick: (e: (typeof entries)[number]) => number) => entries.reduce((total, e) => total + pick(e), 0);
  return {
    orderId,
    sellerId: entries[0]?.sellerId ?? null,
    entries: entries.map(earningEntryView),
    net: { grossMinor: sum((e) => e.grossMinor), platformFeeMinor: sum((e) => e.platformFeeMinor), sellerShareMinor: sum((e) => e.sellerShareMinor) },
  };
}

export interface EarningsFilter {
  from?: string | undefined;
  to?: string | undefined;
  granularity: 'day' | 'month';
}

function rangeSql(sellerId: string, filter: Pick<EarningsFilter, 'from' | 'to'>): Prisma.Sql {
  return Prisma.sql`WHERE seller_id = ${sellerId}::uuid
    ${filter.from ? Prisma.sql`AND occurred_at >= ${new Date(filter.from)}` : Prisma.empty}
    ${filter.to ? Prisma.sql`AND occurred_at < ${new Date(filter.to)}` : Prisma.empty}`;
}

async function requireSeller(db: Database, sellerId: string): Promise<void> {
  if (!(await db.seller.findUnique({ where: { id: sellerId }, select: { id: true } }))) throw new BillingError('NOT_FOUND', `Seller ${sellerId} not found.`, { sellerId });
}

/** Sums per UTC day or month and currency, in [from, to). Currencies are never added together. */
export async function earningsByPeriod(db: Database, sellerId: string, filter: EarningsFilter): Promise<SellerEarningsView> {
  await requireSeller(db, sellerId);
  const unit = filter.granularity === 'month' ? 'month' : 'day';
  const rows = await db.$queryRaw<
    Array<{ period: Date; currency: string; sales: bigint; refunds: bigint; gross: bigint; fee: bigint; share: bigint }>
  >`SELECT date_trunc(${unit}, occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS period, currency,
           count(*) FILTER (WHERE kind = 'sale') AS sales, count(*) FILTER (WHERE kind = 'refund') AS refunds,
           sum(gross_minor) AS gross, sum(platform_fee_minor) AS fee, sum(seller_share_minor) AS share
      FROM seller_earning_entries ${rangeSql(sellerId, filter)}
     GROUP BY 1, 2 ORDER BY 1, 2`;
  return {
    sellerId,
    granularity: filter.granularity,
    items: rows.map((row) => ({
      period: row.period.toISOString(),
      currency: row.currency.trim(),
      sales: Number(row.sales),
      refunds: Number(row.refunds),
      grossMinor: Number(row.gross),
      platformFeeMinor: Number(row.fee),
      sellerShareMinor: Number(row.share),
    })),
  };
}

/** Text starting with = + - @ (or tab/CR) gets a leading ' (CSV injection), as in modules/reports/csv-export.ts; numbers stay numbers. */
function neutraliseFormula(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

const CSV_COLUMNS = ['id', 'occurred_at', 'kind', 'order_id', 'currency', 'gross_minor', 'platform_fee_minor', 'seller_share_minor', 'fee_basis_points'] as const;
const CSV_MAX_ROWS = 100_000;

/** Rows read per query: the export holds one page (and the stream buffers) whatever the period. */
const CSV_PAGE_ROWS = 5_000;

type EarningCsvRow = Record<(typeof CSV_COLUMNS)[number], unknown> & { id: bigint };

/**
 * The seller's ledger entries in [from, to), oldest first, as CSV (RFC 4180, CRLF), streamed: read in
 * keyset pages on (occurred_at, id) only as fast as the response takes them, never all at once.
 */
export async function exportEarningsCsv(db: Database, sellerId: string, filter: Pick<EarningsFilter, 'from' | 'to'>): Promise<Readable> {
  await requireSeller(db, sellerId);
  const csv = stringify({
    header: true,
    columns: [...CSV_COLUMNS],
    record_delimiter: 'windows',
    cast: { string: neutraliseFormula, date: (value) => value.toISOString(), bigint: (value) => value.toString() },
  });
  const rows = Readable.from(earningPages(db, sellerId, filter));
  rows.on('error', (error) => csv.destroy(error)); // a failed page ends the response instead of hanging it
  return rows.pipe(csv);
}

async function* earningPages(db: Database, sellerId: string, filter: Pick<EarningsFilter, 'from' | 'to'>): AsyncGenerator<EarningCsvRow> {
  let sent = 0;
  let after: { occurredAt: Date; id: bigint } | undefined;
  while (sent < CSV_MAX_ROWS) {
    const entries = await db.$queryRaw<EarningCsvRow[]>`
      SELECT id, occurred_at, kind, order_id, currency, gross_minor, platform_fee_minor, seller_share_minor, fee_basis_points
        FROM seller_earning_entries ${rangeSql(sellerId, filter)}
        ${after ? Prisma.sql`AND (occurred_at, id) > (${after.occurredAt}::timestamptz, ${after.id.toString()}::bigint)` : Prisma.empty}
       ORDER BY occurred_at, id LIMIT ${Math.min(CSV_PAGE_ROWS, CSV_MAX_ROWS - sent)}`;
    for (const entry of entries) yield { ...entry, currency: String(entry.currency).trim() };
    sent += entries.length;
    const last = entries[entries.length - 1];
    if (!last || entries.length < CSV_PAGE_ROWS) return;
    after = { occurredAt: last.occurred_at as Date, id: last.id };
  }
}
