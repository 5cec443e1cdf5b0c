/**
 * The consumption export as CSV (RFC 4180, CRLF), streamed: rows are read in keyset pages and written
 * through csv-stringify as they come, so a 100,000-row export never sits whole in memory.
 */
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { Prisma } from '../../generated/prisma/client';
import type { Database } from '../../platform/database';
import { filterSql, type ConsumptionFilter } from './reports';

const CSV_EXPORT_MAX_ROWS = 100_000;
const PAGE_ROWS = 5_000;

const COLUMNS = [
  'id',
  'created_at',
  'user_id',
  'action_key',
  'quantity',
  'unit_price',
  'credits_cost',
  'credits_refunded',
  'reservation_id',
] as const;

interface ExportSqlRow {
  id: string;
  created_at: Date;
  user_id: string;
  action_key: string;
  quantity: number;
  unit_price: number;
  credits_cost: number;
  credits_refunded: number;
  reservation_id: string | null;
}

export interface CsvExport {
  stream: Readable;
  /** More rows matched than the cap; narrow the time range to get the rest. */
  truncated: boolean;
}


/**
 * Text starting with = + - @ (or tab/CR) gets a leading ' so spreadsheets show it instead of running
 * it as a formula (CSV injection); numbers are left alone so they stay numbers.
 */
function neutraliseFormula(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/** Newest first, at most CSV_EXPORT_MAX_ROWS rows; one joined query per page (no per-row relation loads). */
export async function exportConsumptionsCsv(db: Database, filter: ConsumptionFilter): Promise<CsvExport> {
  // Known before the first byte, so it can be a header: one bounded count, not a full scan.
  const [bound] = await db.$queryRaw<Array<{ matched: bigint }>>`
    SELECT count(*) AS matched FROM (
      SELECT 1 FROM consumption_records c ${filterSql(filter)} LIMIT ${CSV_EXPORT_MAX_ROWS + 1}
    ) bounded`;
  const csv = stringify({
    header: true,
    columns: [...COLUMNS],
    record_delimiter: 'windows',
    cast: { string: neutraliseFormula, date: (value) => value.toISOString() },
  });
  const rows = Readable.from(pages(db, filter));
  rows.on('error', (error) => csv.destroy(error)); // a failed page ends the response instead of hanging it
  rows.pipe(csv);
  return { stream: csv, truncated: Number(bound?.matched ?? 0) > CSV_EXPORT_MAX_ROWS };
}

async function* pages(db: Database, filter: ConsumptionFilter): AsyncGenerator<ExportSqlRow> {
  let sent = 0;
  let after: { createdAt: Date; id: string } | undefined;
  while (sent < CSV_EXPORT_MAX_ROWS) {
    const keyset = after ? [Prisma.sql`(c.created_at, c.id) < (${after.createdAt}::timestamptz, ${after.id}::uuid)`] : [];
    const rows = await db.$queryRaw<ExportSqlRow[]>`
      SELECT c.id::text AS id, c.created_at, c.user_id, c.action_key, c.quantity, c.unit_price,
             c.credits_cost, c.credits_refunded, r.id::text AS reservation_id
      FROM consumption_records c
      LEFT JOIN reservations r ON r.consumption_id = c.id
      ${filterSql(filter, keyset)}
      ORDER BY c.created_at DESC, c.id DESC
      LIMIT ${Math.min(PAGE_ROWS, CSV_EXPORT_MAX_ROWS - sent)}`;
    for (const row of rows) yield row;
    sent += rows.length;
    const last = rows[rows.length - 1];
    if (!last || rows.length < PAGE_ROWS) return;
    after = { createdAt: last.created_at, id: last.id };
  }
}
