/**
 * Sales statistics, grouped by currency (amounts in different currencies are never added together):
 * orders paid in [from, to), their list price, discounts, amount charged and refunded.
 */
import { z } from '../../platform/zod';
import { Prisma } from '../../generated/prisma/client';
import type { Database } from '../../platform/database';

export const salesByCurrencySchema = z
  .object({
    items: z.array(
      z.object({
        currency: z.string(),
        orders: z.number().int(),
        listAmountMinor: z.number().int(),
        discountMinor: z.number().int(),
        amountMinor: z.number().int(),
        refundedMinor: z.number().int(),
      }),
    ),
  })
  .openapi('SalesByCurrency');
export type SalesByCurrencyView = z.infer<typeof salesByCurrencySchema>;

export async function salesByCurrency(db: Database, filter: { from?: string | undefined; to?: string | undefined }): Promise<SalesByCurrencyView> {
  const rows = await db.$queryRaw<Array<{ currency: string; orders: bigint; list: bigint; discount: bigint; amount: bigint; refunded: bigint }>>`
    SELECT currency, count(*) AS orders, sum(COALESCE(list_amount_minor, amount_minor)) AS list, sum(discount_minor) AS discount,
           sum(amount_minor) AS amount, sum(refunded_minor) AS refunded
      FROM orders
     WHERE paid_at IS NOT NULL AND status IN ('paid', 'provisioning', 'completed', 'partially_refunded', 'refunded')
       ${filter.from ? Prisma.sql`AND paid_at >= ${new Date(filter.from)}` : Prisma.empty}
       ${filter.to ? Prisma.sql`AND paid_at < ${new Date(filter.to)}` : Prisma.empty}
     GROUP BY currency ORDER BY currency`;
  return {
    items: rows.map((row) => ({
      currency: row.currency.trim(),
      orders: Number(row.orders),
      listAmountMinor: Number(row.list),
      discountMinor: Number(row.discount),
      amountMinor: Number(row.amount),
      refundedMinor: Number(row.refunded),
    })),
  };
}
