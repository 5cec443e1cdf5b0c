/**
 * Read-only views for users and operators: balances, grants, consumption history, statistics and
 * the CSV export. Nothing here writes, so nothing here takes the user's credit lock.
 */
import type { Database } from '../../platform/database';
import { NEWEST_FIRST, type Page, type PageRequest } from '../../platform/pagination';
import { Prisma, type GrantStatus } from '../../generated/prisma/client';
import { compareBurnDownOrder, isSpendable, spendableTotal } from '../credits/rules/burn-down';
import { consumptionView, grantView } from '../credits';
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

/**
 * Counts and sums per day or per action. Sums are bigint in SQL (int4 would overflow on a busy year)
 * and become JS numbers here: exact up to 2^53, far beyond any realistic total.
 */
export async function consumptionStats(db: Database, filter: ConsumptionFilter, groupBy: StatsGroupBy): Promise<ConsumptionStats> {
  const rows = await db.$queryRaw<StatsSqlRow[]>`
    SELECT ${GROUP_KEY[groupBy]} AS key,
           count(*)::bigint AS consumptions,
           sum(c.quantity)::bigint AS quantity,
           sum(c.credits_cost)::bigint AS credits_cost,
           sum(c.credits_refunded)::bigint AS credits_refunded
    FROM consumption_records c
    ${filterSql(filter)}
    GROUP BY 1
    ORDER BY 1`;
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
