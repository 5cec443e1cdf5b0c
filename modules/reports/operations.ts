/**
 * What an operator needs without SQL: reservations by user and status (including holds past their
 * deadline), a grant's ledger entries, and the ledger invariant for one user, checked on demand.
 * Read-only: nothing here takes a lock or writes.
 */
import type { ReservationStatus } from '../../generated/prisma/enums';
import { BillingError } from '../../platform/errors';
import { reservationView } from '../credits';
import type { Database } from '../../platform/database';
import { keysetOrder, NEWEST_FIRST, type PageRequest } from '../../platform/pagination';
import type { InvariantReport, LedgerPage, ReservationPage } from './operations-views';

// ---- reservations ------------------------------------------------------------------------------

export interface ReservationFilter {
  userId?: string | undefined;
  status?: ReservationStatus | undefined;
  /** Only holds still `held` after their deadline: the worker has not released them (yet). */
  pastDeadline?: boolean | undefined;
}

/** Newest first. */
export async function listReservations(db: Database, filter: ReservationFilter, page: PageRequest, now = new Date()): Promise<ReservationPage> {
  const rows = await db.reservation.findMany({
    where: {
      AND: [
        {
          ...(filter.userId ? { userId: filter.userId } : {}),
          ...(filter.status ? { status: filter.status } : {}),
          ...(filter.pastDeadline ? { status: 'held', expiresAt: { lte: now } } : {}),
        },
        NEWEST_FIRST.after(page.cursor),
      ],
    },
    include: { allocations: true },
    orderBy: NEWEST_FIRST.orderBy,
    take: NEWEST_FIRST.take(page),
  });
  return NEWEST_FIRST.page(rows, page, reservationView);
}

// ---- ledger ------------------------------------------------------------------------------------

const AS_WRITTEN = keysetOrder({ field: 'id', direction: 'asc', kind: 'bigint' });

/** A grant's ledger entries in the order they were written (entry number ascending). */
export async function listGrantLedger(db: Database, grantId: string, page: PageRequest): Promise<LedgerPage> {
  const grant = await db.userPackage.findUnique({ where: { id: grantId }, select: { id: true } });
  if (!grant) throw new BillingError('NOT_FOUND', `Grant ${grantId} not found.`, { grantId });
  const rows = await db.creditLedgerEntry.findMany({
    where: { AND: [{ userPackageId: grantId }, AS_WRITTEN.after(page.cursor)] },
    orderBy: AS_WRITTEN.orderBy,
    take: AS_WRITTEN.take(page),
  });
  return {
    grantId,
    ...AS_WRITTEN.page(rows, page, (entry) => ({
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
