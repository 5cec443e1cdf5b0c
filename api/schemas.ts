import { GrantStatus } from '../generated/prisma/enums';
import { ERROR_STATUS } from '../platform/errors';
import { z } from '../platform/zod';

/**
 * Schemas of the HTTP edge shared by several route files: identifiers, quantities, pagination, the
 * error envelope. Response shapes live with the feature that produces them (modules/credits/views.ts,
 * modules/catalog/views.ts, modules/reports/views.ts). Request schemas are strict: unknown fields are an error.
 */

export const userIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:@-]+$/, 'may contain letters, digits and . _ : @ -')
  .openapi({ description: "The calling service's opaque user id.", example: 'user-42' });

export const actionKeySchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_]*$/, 'lower_snake_case')
  .openapi({ example: 'resume_optimize' });

export const quantitySchema = z.number().int().min(1).max(1_000_000).openapi({ description: 'Units of the action.', example: 1 });
export const creditsSchema = z.number().int().min(1).max(2_147_483_647);
export { uuidSchema } from '../platform/schemas';
/**
 * Every instant the API accepts is one PostgreSQL can store and compare: ISO 8601 with a 4-digit year
 * from 0001 (PostgreSQL has no year 0000), a UTC offset within PostgreSQL's ±15:59, and an instant from
 * 0001-01-01 to 9999-12-31 UTC (what JavaScript renders as a 4-digit ISO year). The one schema for
 * dates at the edge: request bodies and query filters alike.
 */
const EARLIEST_INSTANT = Date.parse('0001-01-01T00:00:00Z');
const LATEST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');
export const isoDate = z.iso
  .datetime({ offset: true })
  .regex(/^(?!0000)\d{4}-.*(?:Z|[+-](?:0\d|1[0-5]):?[0-5]\d)$/, 'year 0001-9999 and a UTC offset within ±15:59')
  .refine((value) => {
    const instant = Date.parse(value);
    return instant >= EARLIEST_INSTANT && instant <= LATEST_INSTANT;
  }, 'must fall between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z')
  .openapi({ format: 'date-time', example: '2026-01-31T12:00:00Z' });

export const errorEnvelopeSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...(keyof typeof ERROR_STATUS)[]]),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');

/**
 * The query of every list (docs/api.md, "Pagination"): `limit`, and `cursor` = the previous page's
 * `nextCursor`. The first page needs no cursor, so a client that never sends one gets what the list
 * answered before it paged. Lists keep the limits they had; the default is 50 of at most 200.
 */
export function pageQuery(limits: { default: number; max: number } = { default: 50, max: 200 }) {
  return z.object({
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(limits.max)
      .default(limits.default)
      .openapi({ description: `Items per page, 1-${limits.max}.`, example: Math.min(20, limits.max) }),
    cursor: z
      .string()
      .min(1)
      .max(1000)
      .optional()
      // No example: documentation tools put examples into "try it" requests, and a cursor is only ever the
      // nextCursor of the same list.
      .openapi({ description: 'The `nextCursor` of the previous page (opaque), with the same filters; omit it for the first page.' }),
  });
}
export const pageQuerySchema = pageQuery();

/** A page of a list: `items` in the list's stable order, and the cursor of the next page (null on the last). */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().openapi({ description: 'Pass back as `cursor` for the next page; null on the last page.' }),
  });
}

const timeRangeQuerySchema = z.object({
  from: isoDate.optional(),
  to: isoDate.optional(),
});

// ---------------------------------------------------------------------------------------------
// Catalog, balances and reports (public, user and admin routes)
// ---------------------------------------------------------------------------------------------

/** Read filter for consumptions: `from` inclusive, `to` exclusive. */
export const consumptionFilterQuerySchema = timeRangeQuerySchema.extend({ actionKey: actionKeySchema.optional() });

/** For `.refine` on a query with from/to: an inverted range is a client mistake, not an empty answer. */
export function rangeInOrder(query: { from?: string | undefined; to?: string | undefined }): boolean {
  return query.from === undefined || query.to === undefined || Date.parse(query.from) <= Date.parse(query.to);
}
export const rangeInOrderIssue = { message: 'from must not be after to', path: ['from'] };

export const grantStatusSchema = z.enum(GrantStatus);
