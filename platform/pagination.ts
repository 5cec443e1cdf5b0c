/**
 * The one way every list pages (docs/api.md, "Pagination"): `limit` and an opaque `cursor` in, `items`
 * and `nextCursor` out. Keyset, never OFFSET: the cursor holds the sort key of the last item returned
 * and the next page starts strictly after it, so a page costs an index range scan however deep the
 * client pages, and rows written while it pages do not shift or repeat items across pages.
 *
 * A list declares its order once (a `KeysetOrder`): sort keys whose last key is unique, so the order
 * is total and stable. The cursor is base64url JSON of that key's values; a cursor that does not
 * decode to values of the right kinds is 400 VALIDATION_FAILED on `query.cursor`, never a database error.
 */
import { z } from 'zod';
import { BillingError } from './errors';
import { firstUnstorablePart } from './storable-json';
import { uuidSchema } from './schemas';

export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** PostgreSQL's timestamps as JavaScript renders them: years 0001-9999 (there is no year 0000). */
const EARLIEST_INSTANT = Date.parse('0001-01-01T00:00:00Z');
const LATEST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * How a sort key's value travels in a cursor (JSON has no dates or 64-bit integers), and the bounds
 * of what the database can compare it with: a value beyond them would reach PostgreSQL as an error.
 */
const KEY_VALUE = {
  date: z.iso
    .datetime({ offset: true })
    .transform((text) => new Date(text))
    .refine((date) => date.getTime() >= EARLIEST_INSTANT && date.getTime() <= LATEST_INSTANT),
  uuid: uuidSchema,
  text: z
    .string()
    .max(1000)
    .refine((text) => firstUnstorablePart(text, 1) === undefined),
  int: z.number().int().min(-2_147_483_648).max(2_147_483_647),
  // bigint columns (sequence numbers): decimal text within PostgreSQL's bigint.
  bigint: z
    .string()
    .regex(/^\d{1,19}$/)
    .transform((text) => BigInt(text))
    .refine((value) => value <= 9_223_372_036_854_775_807n),
} as const;
type KeyKind = keyof typeof KEY_VALUE;

export interface SortKey<F extends string = string> {
  field: F;
  direction: 'asc' | 'desc';
  kind: KeyKind;
}

type KeyValue = Date | string | number | bigint;

function invalidCursor(): BillingError {
  return new BillingError('VALIDATION_FAILED', 'Invalid request query.', {
    issues: [{ path: 'query.cursor', message: 'is not a nextCursor returned by this endpoint' }],
  });
}

function compareValues(a: KeyValue, b: KeyValue): number {
  const left = a instanceof Date ? a.getTime() : a;
  const right = b instanceof Date ? b.getTime() : b;
  return left < right ? -1 : left > right ? 1 : 0;
}

export class KeysetOrder<F extends string> {
  constructor(readonly keys: readonly SortKey<F>[]) {}

  /** Prisma `orderBy`. */
  get orderBy(): Array<{ [K in F]?: 'asc' | 'desc' }> {
    return this.keys.map((key) => ({ [key.field]: key.direction }) as { [K in F]?: 'asc' | 'desc' });
  }

  /** Rows to fetch for a page: one more than `limit` tells whether another page follows. */
  take(request: PageRequest): number {
    return request.limit + 1;
  }

  /** The cursor's key values, checked; throws 400 VALIDATION_FAILED when it is not one this order issued. */
  decode(cursor: string): KeyValue[] {
    let values: unknown;
    try {
      values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    } catch {
      throw invalidCursor();
    }
    if (!Array.isArray(values) || values.length !== this.keys.length) throw invalidCursor();
    return this.keys.map((key, index) => {
      const parsed = KEY_VALUE[key.kind].safeParse(values[index]);
      if (!parsed.success) throw invalidCursor();
      return parsed.data;
    });
  }

  encode(row: Record<F, unknown>): string {
    const values = this.keys.map((key) => {
      const value = row[key.field];
      if (value instanceof Date) return value.toISOString();
      if (typeof value === 'bigint') return value.toString();
      if (typeof value === 'string' || typeof value === 'number') return value;
      throw new Error(`sort key ${key.field} has no value to page on`);
    });
    return Buffer.from(JSON.stringify(values)).toString('base64url');
  }

  /**
   * Prisma `where` for the rows strictly after the cursor in this order (everything without one):
   * k1 beyond v1, or k1 = v1 and k2 beyond v2, and so on. AND it with the list's own filter.
   */
  after<W = Record<string, unknown>>(cursor: string | undefined): W {
    if (cursor === undefined) return {} as W;
    const values = this.decode(cursor);
    const branches = this.keys.map((key, index) => {
      const equalBefore = Object.fromEntries(this.keys.slice(0, index).map((earlier, i) => [earlier.field, values[i]]));
      return { ...equalBefore, [key.field]: { [key.direction === 'asc' ? 'gt' : 'lt']: values[index] } };
    });
    return { OR: branches } as W;
  }

  /** The page of `rows` fetched with `take`: at most `limit` items, and the cursor after the last when more follow. */
  page<Row extends Record<F, unknown>, T = Row>(rows: Row[], request: PageRequest, view?: (row: Row) => T): Page<T> {
    const items = rows.slice(0, request.limit);
    const last = items.at(-1);
    return {
      items: view ? items.map(view) : (items as unknown as T[]),
      nextCursor: rows.length > request.limit && last ? this.encode(last) : null,
    };
  }

  /** Pages a list already in memory (a short fixed set, e.g. the deployment's schedules) the same way. */
  pageInMemory<Row extends Record<F, unknown>>(rows: Row[], request: PageRequest): Page<Row> {
    const compare = (a: Record<F, unknown>, b: Record<F, unknown> | KeyValue[]) => {
      for (const [index, key] of this.keys.entries()) {
        const right = Array.isArray(b) ? b[index]! : (b[key.field] as KeyValue);
        const order = compareValues(a[key.field] as KeyValue, right);
        if (order !== 0) return key.direction === 'asc' ? order : -order;
      }
      return 0;
    };
    const position = request.cursor === undefined ? undefined : this.decode(request.cursor);
    const sorted = [...rows].sort(compare);
    const remaining = position ? sorted.filter((row) => compare(row, position) > 0) : sorted;
    return this.page(remaining.slice(0, this.take(request)), request);
  }
}

export function keysetOrder<F extends string>(...keys: SortKey<F>[]): KeysetOrder<F> {
  return new KeysetOrder(keys);
}

/** The most common orders: by creation time with the uuid id as tie-break. */
export const NEWEST_FIRST = keysetOrder({ field: 'createdAt', direction: 'desc', kind: 'date' }, { field: 'id', direction: 'desc', kind: 'uuid' });
export const OLDEST_FIRST = keysetOrder({ field: 'createdAt', direction: 'asc', kind: 'date' }, { field: 'id', direction: 'asc', kind: 'uuid' });
