/**
 * Read-only views for users and operators: balances, grants, consumption history, statistics and
 * the CSV export. Nothing here writes, so nothing here takes the user's credit lock.
 */
import type { Database } from '../../platform/database';
import { NEWEST_FIRST, type Page, type PageRequest } from '../../platform/pagination';
import { Prisma, type GrantStatus } from '../../generated/prisma/client';
import { compareBurnDownOrder, isSpendable, spendableTotal } from '../credits/rules/burn-down';
import { consumptionView, grantView } from '../credits';
import { latestRollupCoverage, type RollupCoverage } from '../lifecycle';
import type { ConsumptionPage, ConsumptionStats, StatsGroupBy, UserCreditsView, UserGrantView } from './views';

// ---------------------------------------------------------------------------------------------
// Balances and grants
// ---------------------------------------------------------------------------------------------

/** Statuses shown on a balance: those that count now (active) or may count later (pending, depleted). */
const BALANCE_STATUSES: GrantStatus[] = ['active', 'pending', 'depleted'];

export async function getUserCredits(db: Database, userId: string, now = new Date()): Promise<UserCreditsView> {
  const grants = await db.userPackage.findMany({ where: { userId, status: { in: BALANCE_STATUSES } } });
  grants.sort(compareBurnDownOrder);
  return {
    userId,
    availableCredits: spendableTotal(grants, now),
    grants: grants.map((grant) => ({ ...grantView(grant), spendable: isSpendable(grant, now) })),
  };
}

/** Every grant of a user (any status unless filtered), newest first. */
export async function listUserGrants(db: Database, userId: string, status: GrantStatus | undefined, page: PageRequest): Promise<Page<UserGrantView>> {
  const grants = await db.userPackage.findMany({
    where: { AND: [{ userId, ...(status ? { status } : {}) }, NEWEST_FIRST.after(page.cursor)] },
    include: { package: { select: { code: true, name: true } } },
    orderBy: NEWEST_FIRST.orderBy,
    take: NEWEST_FIRST.take(page),
  });
  return NEWEST_FIRST.page(grants, page, ({ package: billingPackage, ...grant }) => ({
    ...grantView(grant),
    package: billingPackage ? { code: billingPackage.code, name: billingPackage.name } : null,
  }));
}

// ---------------------------------------------------------------------------------------------
// Consumption history (keyset pagination)
// ---------------------------------------------------------------------------------------------

/** Filters shared by history, statistics and export. `from` is inclusive, `to` exclusive (ISO datetimes). */
export interface ConsumptionFilter {
  from?: string | undefined;
  to?: string | undefined;
  actionKey?: string | undefined;
  userId?: string | undefined;
}

/**
 * Newest first. Keyset pagination on (createdAt, id) rather than offsets: pages stay stable while new
 * consumptions arrive, and each page is an index range scan however deep the client pages.
 */
export async function listUserConsumptions(
  db: Database,
  userId: string,
  filter: Omit<ConsumptionFilter, 'userId'>,
  pageRequest: PageRequest,
): Promise<ConsumptionPage> {
  const records = await db.consumptionRecord.findMany({
    where: {
      AND: [
        {
          userId,
          ...(filter.actionKey ? { actionKey: filter.actionKey } : {}),
          createdAt: {
            ...(filter.from ? { gte: new Date(filter.from) } : {}),
            ...(filter.to ? { lt: new Date(filter.to) } : {}),
          },
        },
        NEWEST_FIRST.after(pageRequest.cursor),
      ],
    },
    include: { allocations: true, reservation: { select: { id: true } } },
    orderBy: NEWEST_FIRST.orderBy,
    take: NEWEST_FIRST.take(pageRequest),
  });
  return NEWEST_FIRST.page(records, pageRequest, consumptionView);
}

// ---------------------------------------------------------------------------------------------
// Statistics (aggregated in SQL)
// ---------------------------------------------------------------------------------------------

/** WHERE clause over consumption_records aliased `c`, plus any `extra` conditions; every value is a bound parameter. */
export function filterSql(filter: ConsumptionFilter, extra: Prisma.Sql[] = []): Prisma.Sql {
  const conditions: Prisma.Sql[] = [...extra];
  if (filter.from) conditions.push(Prisma.sql`c.created_at >= ${filter.from}::timestamptz`);
  if (filter.to) conditions.push(Prisma.sql`c.created_at < ${filter.to}::timestamptz`);
  if (filter.actionKey) conditions.push(Prisma.sql`c.action_key = ${filter.actionKey}`);
  if (filter.userId) conditions.push(Prisma.sql`c.user_id = ${filter.userId}`);
  return conditions.length > 0 ? Prisma.sql`WHERE ${Prisma.join(conditions, ' AND ')}` : Prisma.empty;
}

const GROUP_KEY: Record<StatsGroupBy, Prisma.Sql> = {
  day: Prisma.sql`to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  action: Prisma.sql`c.action_key`,
};

interface StatsSqlRow {
  key: string;
  consumptions: bigint | number;
  quantity: bigint | number;
  credits_cost: bigint | number;
  credits_refunded: bigint | number;
}

function toStats(groupBy: StatsGroupBy, rows: StatsSqlRow[]): ConsumptionStats {
  return {
    groupBy,
    rows: rows.map((row) => {
      const creditsCost = Number(row.credits_cost);
      const creditsRefunded = Number(row.credits_refunded);
      return {
        key: row.key,
        consumptions: Number(row.consumptions),
        quantity: Number(row.quantity),
        creditsCost,
        creditsRefunded,
        netCredits: creditsCost - creditsRefunded,
      };
    }),
  };
}

/** The ledger's part: consumption_records aggregated over the filter (and any extra conditions). */
function ledgerPart(filter: ConsumptionFilter, groupBy: StatsGroupBy, extra: Prisma.Sql[] = []): Prisma.Sql {
  return Prisma.sql`
    SELECT ${GROUP_KEY[groupBy]} AS key,
           count(*)::bigint AS consumptions,
           sum(c.quantity)::bigint AS quantity,
           sum(c.credits_cost)::bigint AS credits_cost,
           sum(c.credits_refunded)::bigint AS credits_refunded
    FROM consumption_records c
    ${filterSql(filter, extra)}
    GROUP BY 1`;
}

/**
 * Counts and sums per day or per action, straight from the ledger. Sums are bigint in SQL (int4 would
 * overflow on a busy year) and become JS numbers here: exact up to 2^53, far beyond any realistic total.
 * The reference the rollup-based answer must equal; used as is for one user's statistics.
 */
export async function consumptionStatsFromLedger(db: Database, filter: ConsumptionFilter, groupBy: StatsGroupBy): Promise<ConsumptionStats> {
  return toStats(groupBy, await db.$queryRaw<StatsSqlRow[]>`${ledgerPart(filter, groupBy)} ORDER BY 1`);
}

const DAY_MS = 86_400_000;

/** 'YYYY-MM-DD' of a UTC midnight: a date literal, so no session time zone shifts it. */
function isoDay(midnight: Date): string {
  return midnight.toISOString().slice(0, 10);
}

/** Whole UTC days inside [from, to) that the rollup covers exactly, or null when there are none. */
function rolledUpDays(filter: ConsumptionFilter, coverage: RollupCoverage): { from: Date; to: Date } | null {
  const ceilDay = (ms: number) => Math.ceil(ms / DAY_MS) * DAY_MS;
  const floorDay = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;
  const from = Math.max(Date.parse(coverage.coveredFrom), filter.from ? ceilDay(Date.parse(filter.from)) : -Infinity);
  const to = Math.min(Date.parse(coverage.coveredTo), filter.to ? floorDay(Date.parse(filter.to)) : Infinity);
  return from < to ? { from: new Date(from), to: new Date(to) } : null;
}

/**
 * Counts and sums per day or per action. Whole closed days the daily rollup covers are read from it
 * (one row per day and action, plus the refunds made since it ran); the edges of the range, today and
 * any day it does not cover come from the ledger through its created_at index. The time therefore grows
 * with the days asked for, not with the ledger. A filter on one user reads the ledger (the rollup has
 * no user dimension; the (user_id, created_at) index bounds it to that user's rows).
 */
export async function consumptionStats(db: Database, filter: ConsumptionFilter, groupBy: StatsGroupBy): Promise<ConsumptionStats> {
  const coverage = filter.userId ? null : await latestRollupCoverage(db);
  const days = coverage ? rolledUpDays(filter, coverage) : null;
  if (!coverage || !days) return consumptionStatsFromLedger(db, filter, groupBy);

  const outsideRollup = Prisma.sql`(c.created_at < ${days.from} OR c.created_at >= ${days.to})`;
  const rollupKey = groupBy === 'day' ? Prisma.sql`to_char(r.day, 'YYYY-MM-DD')` : Prisma.sql`r.action_key`;
  const actionFilter = (column: Prisma.Sql) => (filter.actionKey ? Prisma.sql`AND ${column} = ${filter.actionKey}` : Prisma.empty);
  // Merged and ordered in SQL, so keys sort by the same collation as the ledger-only answer.
  const rows = await db.$queryRaw<StatsSqlRow[]>`
    SELECT key, sum(consumptions)::bigint AS consumptions, sum(quantity)::bigint AS quantity,
           sum(credits_cost)::bigint AS credits_cost, sum(credits_refunded)::bigint AS credits_refunded
    FROM (
      ${ledgerPart(filter, groupBy, [outsideRollup])}
      UNION ALL
      SELECT ${rollupKey} AS key, r.consumptions::bigint, r.quantity::bigint, r.credits_cost::bigint, r.credits_refunded::bigint
      FROM daily_consumption_rollups r
      WHERE r.day >= ${isoDay(days.from)}::date AND r.day < ${isoDay(days.to)}::date ${actionFilter(Prisma.sql`r.action_key`)}
      UNION ALL
      -- Refunds of rolled-up consumptions made after the rollup read them: at most a day's refunds.
      SELECT ${GROUP_KEY[groupBy]} AS key, 0::bigint, 0::bigint, 0::bigint, f.credits::bigint
      FROM consumption_refunds f JOIN consumption_records c ON c.id = f.consumption_id
      WHERE f.created_at >= ${new Date(coverage.watermark)} AND c.created_at >= ${days.from} AND c.created_at < ${days.to}
            ${actionFilter(Prisma.sql`c.action_key`)}
    ) parts
    GROUP BY key
    ORDER BY key`;
  return toStats(groupBy, rows);
}
