/**
 * What an operator needs without SQL: reservations by user and status (including holds past their
 * deadline), a grant's ledger entries, and the ledger invariant for one user, checked on demand.
 * Read-only: nothing here takes a lock or writes.
 */
import { z } from 'zod';
import type { ReservationStatus } from '../generated/prisma/enums';
import { BillingError } from '../domain/errors';
import { reservationView } from '../credits/views';
import type { Database } from '../infra/database';
import type { InvariantReport, LedgerPage, ReservationPage } from './operations-views';

// ---- opaque keyset cursors ---------------------------------------------------------------------

function encode(position: unknown): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

function decode<T>(cursor: string, schema: z.ZodType<T>): T {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  const parsed = schema.safeParse(decoded);
  if (!parsed.success) {
    throw new BillingError('VALIDATION_FAILED', 'Invalid request query.', {
      issues: [{ path: 'query.cursor', message: 'is not a nextCursor returned by this endpoint' }],
    });
  }
  return parsed.data;
}

// ---- reservations ------------------------------------------------------------------------------

export interface ReservationFilter {
  userId?: string | undefined;
  status?: ReservationStatus | undefined;
  /** Only holds still `held` after their deadline: the worker has not released them (yet). */
  pastDeadline?: boolean | undefined;
}

const reservationCursor = z.strictObject({ createdAt: z.iso.datetime(), id: z.uuid() });

/** Newest first, keyset-paginated on (createdAt, id). */
export async function listReservations(
  db: Database,
  filter: ReservationFilter,
  page: { limit: number; cursor?: string | undefined },
  now = new Date(),
): Promise<ReservationPage> {
  const after = page.cursor === undefined ? undefined : decode(page.cursor, reservationCursor);
  const afterDate = after && new Date(after.createdAt);
  const rows = await db.reservation.findMany({
    where: {
      ...(filter.userId ? { userId: filter.userId } : {}),
      ...(filter.status ? { status: filter.status } : {}),
      ...(filter.pastDeadline ? { status: 'held', expiresAt: { lte: now } } : {}),
      ...(after && afterDate ? { OR: [{ createdAt: { lt: afterDate } }, { createdAt: afterDate, id: { lt: after.id } }] } : {}),
    },
    include: { allocations: true },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: page.limit + 1,
  });
  const items = rows.slice(0, page.limit);
  const last = items[items.length - 1];
  return {
    items: items.map(reservationView),
    nextCursor: rows.length > page.limit && last ? encode({ createdAt: last.createdAt.toISOString(), id: last.id }) : null,
  };
}

// ---- ledger ------------------------------------------------------------------------------------

const ledgerCursor = z.strictObject({ after: z.string().regex(/^\d{1,19}$/) });

/** A grant's ledger entries in the order they were written (entry number ascending), keyset-paginated. */
export async function listGrantLedger(db: Database, grantId: string, page: { limit: number; cursor?: string | undefined }): Promise<LedgerPage> {
  const after = page.cursor === undefined ? undefined : BigInt(decode(page.cursor, ledgerCursor).after);
  const grant = await db.userPackage.findUnique({ where: { id: grantId }, select: { id: true } });
  if (!grant) throw new BillingError('NOT_FOUND', `Grant ${grantId} not found.`, { grantId });
  const rows = await db.creditLedgerEntry.findMany({
    where: { userPackageId: grantId, ...(after === undefined ? {} : { id: { gt: after } }) },
    orderBy: { id: 'asc' },
    take: page.limit + 1,
  });
  const items = rows.slice(0, page.limit);
  const last = items[items.length - 1];
  return {
    grantId,
    items: items.map((entry) => ({
      id: entry.id.toString(),
      grantId: entry.userPackageId,
      userId: entry.userId,
      entryType: entry.entryType,
      amount: entry.amount,
      reservedDelta: entry.reservedDelta,
      usedDelta: entry.usedDelta,
      referenceType: entry.referenceType,
      referenceId: entry.referenceId,
      idempotencyKey: entry.idempotencyKey,
      actor: entry.actor,
      createdAt: entry.createdAt.toISOString(),
    })),
    nextCursor: rows.length > page.limit && last ? encode({ after: last.id.toString() }) : null,
  };
}

// ---- the ledger invariant ------------------------------------------------------------------------

interface InvariantRow {
  grant_id: string;
  status: string;
  total: number;
  used: number;
  reserved: number;
  ledger_available: number;
  ledger_reserved: number;
  ledger_used: number;
}

/**
 * docs/architecture.md, The ledger invariant, for one user's grants: available = total - used -
 * reserved >= 0, and the ledger sums equal available, reserved and used. Reports; changes nothing.
 */
export async function checkUserInvariant(db: Database, userId: string, now = new Date()): Promise<InvariantReport> {
  const rows = await db.$queryRaw<InvariantRow[]>`
    SELECT g.id::text AS grant_id, g.status::text AS status, g.total_credits AS total, g.used_credits AS used,
           g.reserved_credits AS reserved,
           COALESCE(SUM(l.amount), 0)::int AS ledger_available,
           COALESCE(SUM(l.reserved_delta), 0)::int AS ledger_reserved,
           COALESCE(SUM(l.used_delta), 0)::int AS ledger_used
    FROM user_packages g LEFT JOIN credit_ledger_entries l ON l.user_package_id = g.id
    WHERE g.user_id = ${userId}
    GROUP BY g.id
    ORDER BY g.created_at, g.id`;
  const checks = rows.map((r) => ({
    grantId: r.grant_id,
    status: r.status,
    total: r.total,
    used: r.used,
    reserved: r.reserved,
    available: r.total - r.used - r.reserved,
    ledgerAvailable: r.ledger_available,
    ledgerReserved: r.ledger_reserved,
    ledgerUsed: r.ledger_used,
  }));
  const mismatches = checks.filter(
    (c) => c.available < 0 || c.ledgerAvailable !== c.available || c.ledgerReserved !== c.reserved || c.ledgerUsed !== c.used,
  );
  return { userId, checkedAt: now.toISOString(), ok: mismatches.length === 0, grantsChecked: checks.length, mismatches };
}
