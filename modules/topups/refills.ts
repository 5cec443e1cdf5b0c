/**
 * A refill's claim on its rule's monthly caps. The refill row (keyed by the refill workflow's id) and the
 * month's counter row are written in one transaction:
 * - the refill row first, ON CONFLICT DO NOTHING: a second claim of the same refill (a retried activity,
 *   a duplicate trigger) waits for the first and answers what it decided, so a refill claims at most once;
 * - then the counter, in one conditional upsert: concurrent claims of one rule take turns on its row and
 *   each sees the others' counts, so N refills at once never exceed the caps.
 */
import { z } from '../../platform/zod';
import { BillingError } from '../../platform/errors';
import type { Database, Tx } from '../../platform/database';
import { keysetOrder, type Page, type PageRequest } from '../../platform/pagination';
import { packageOnSale } from '../catalog';
import { resolvePrice } from '../pricing';
import { quoteOrderTax } from '../invoices';
import { recordEvent } from '../../platform/outbox/record';
import type { TopUpRefill } from '../../generated/prisma/client';
import { monthOf } from './rules/caps';

export const topUpRefillSchema = z
  .object({
    id: z.string().openapi({ description: 'The refill workflow id: `top-up-<ruleId>-<trigger id>`.' }),
    ruleId: z.uuid(),
    userId: z.string(),
    month: z.string().openapi({ description: 'The calendar month (UTC) it counts against, `YYYY-MM`.' }),
    amountMinor: z.number().int(),
    currency: z.string(),
    status: z.enum(['claimed', 'capped', 'released']).openapi({
      description: '`claimed`: it took a slot of the month\'s caps; `capped`: the caps were reached, nothing bought; `released`: it gave its slot back (the purchase did not happen).',
    }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('TopUpRefill');
export type TopUpRefillView = z.infer<typeof topUpRefillSchema>;

export function topUpRefillView(refill: TopUpRefill): TopUpRefillView {
  return {
    id: refill.id,
    ruleId: refill.ruleId,
    userId: refill.userId,
    month: refill.month,
    amountMinor: refill.amountMinor,
    currency: refill.currency,
    status: refill.status,
    createdAt: refill.createdAt.toISOString(),
    updatedAt: refill.updatedAt.toISOString(),
  };
}

/** Takes one slot of the month if the caps allow it; answers whether it did. One statement. */
async function takeSlot(tx: Tx, ruleId: string, month: string, priceMinor: number, caps: { maxTopUps: number | null; maxAmount: number | null }): Promise<boolean> {
  if (caps.maxAmount !== null && priceMinor > caps.maxAmount) return false;
  const rows = await tx.$queryRaw<Array<{ top_ups: number }>>`
    INSERT INTO top_up_months (rule_id, month, top_ups, amount_minor, updated_at)
    VALUES (${ruleId}::uuid, ${month}, 1, ${priceMinor}, now())
    ON CONFLICT (rule_id, month) DO UPDATE
      SET top_ups = top_up_months.top_ups + 1, amount_minor = top_up_months.amount_minor + EXCLUDED.amount_minor, updated_at = now()
      WHERE (${caps.maxTopUps}::int IS NULL OR top_up_months.top_ups + 1 <= ${caps.maxTopUps}::int)
        AND (${caps.maxAmount}::int IS NULL OR top_up_months.amount_minor + EXCLUDED.amount_minor <= ${caps.maxAmount}::int)
    RETURNING top_ups`;
  return rows.length === 1;
}

/**
 * Claims a slot of the rule's monthly caps for one refill, at `at` (the refill's start, in workflow time).
 * NOT_FOUND when the rule is gone, PACKAGE_UNAVAILABLE / CURRENCY_NOT_SUPPORTED when it can no longer buy.
 * A paused rule claims nothing: `undefined`.
 */
export async function claimRefill(db: Database, refillId: string, ruleId: string, at: Date): Promise<TopUpRefillView | undefined> {
  return db.$transaction(async (tx) => {
    const rule = await tx.topUpRule.findUnique({ where: { id: ruleId } });
    if (!rule) throw new BillingError('NOT_FOUND', 'Top-up rule not found.', { ruleId });
    const earlier = await tx.topUpRefill.findUnique({ where: { id: refillId } });
    if (earlier) return topUpRefillView(earlier);
    if (rule.status !== 'active') return undefined;
    const price = await resolvePrice(tx, await packageOnSale(tx, rule.packageCode), rule.currency);
    // The cap counts what the refill's order will charge: with TAX_PRICES=exclusive, the price plus the
    // user's tax (fixed the same way when the order is placed a moment later).
    const charged = (await quoteOrderTax(tx, rule.userId, price.amountMinor)).totalMinor;
    const month = monthOf(at);
    const inserted = await tx.$executeRaw`
      INSERT INTO top_up_refills (id, rule_id, user_id, month, amount_minor, currency, status, updated_at)
      VALUES (${refillId}, ${rule.id}::uuid, ${rule.userId}, ${month}, ${charged}, ${price.currency}, 'capped', now())
      ON CONFLICT (id) DO NOTHING`;
    if (inserted === 0) return topUpRefillView(await tx.topUpRefill.findUniqueOrThrow({ where: { id: refillId } }));
    const claimed = await takeSlot(tx, rule.id, month, charged, { maxTopUps: rule.maxTopUpsPerMonth, maxAmount: rule.maxAmountMinorPerMonth });
    const refill = claimed ? await tx.topUpRefill.update({ where: { id: refillId }, data: { status: 'claimed' } }) : await tx.topUpRefill.findUniqueOrThrow({ where: { id: refillId } });
    return topUpRefillView(refill);
  });
}

/** Gives a claimed refill's slot back (its purchase did not happen); a second release changes nothing. */
export async function releaseRefill(db: Database, refillId: string): Promise<TopUpRefillView> {
  return db.$transaction(async (tx) => {
    const { count } = await tx.topUpRefill.updateMany({ where: { id: refillId, status: 'claimed' }, data: { status: 'released' } });
    const refill = await tx.topUpRefill.findUniqueOrThrow({ where: { id: refillId } });
    if (count === 1) {
      await tx.$executeRaw`
        UPDATE top_up_months SET top_ups = top_ups - 1, amount_minor = amount_minor - ${refill.amountMinor}, updated_at = now()
        WHERE rule_id = ${refill.ruleId}::uuid AND month = ${refill.month}`;
    }
    return topUpRefillView(refill);
  });
}

const NEWEST_FIRST = keysetOrder({ field: 'createdAt', direction: 'desc', kind: 'date' }, { field: 'id', direction: 'desc', kind: 'text' });

/** The user's refills, newest first, a page at a time. */
export async function listRefills(db: Database, userId: string, page: PageRequest): Promise<Page<TopUpRefillView>> {
  const refills = await db.topUpRefill.findMany({ where: { AND: [{ userId }, NEWEST_FIRST.after(page.cursor)] }, orderBy: NEWEST_FIRST.orderBy, take: NEWEST_FIRST.take(page) });
  return NEWEST_FIRST.page(refills, page, topUpRefillView);
}

/** For tests and reports: what a rule used of its caps in a month. */
export async function monthlyUse(db: Database, ruleId: string, month: string): Promise<{ topUps: number; amountMinor: number }> {
  const used = await db.topUpMonth.findUnique({ where: { ruleId_month: { ruleId, month } } });
  return { topUps: used?.topUps ?? 0, amountMinor: used?.amountMinor ?? 0 };
}

/**
 * A refill that gave up after its last refused charge, in one transaction: its slot goes back, the rule
 * is paused (`payment_declined`) and `top_up.failed` is recorded. Done once: a retry finds the refill
 * released already and changes nothing.
 */
export async function failRefill(db: Database, input: { refillId: string; orderId: string | null }): Promise<TopUpRefillView> {
  return db.$transaction(async (tx) => {
    const { count } = await tx.topUpRefill.updateMany({ where: { id: input.refillId, status: 'claimed' }, data: { status: 'released' } });
    const refill = await tx.topUpRefill.findUniqueOrThrow({ where: { id: input.refillId } });
    if (count === 1) {
      await tx.$executeRaw`
        UPDATE top_up_months SET top_ups = top_ups - 1, amount_minor = amount_minor - ${refill.amountMinor}, updated_at = now()
        WHERE rule_id = ${refill.ruleId}::uuid AND month = ${refill.month}`;
      await tx.topUpRule.updateMany({ where: { id: refill.ruleId }, data: { status: 'paused', pausedReason: 'payment_declined' } });
      await recordEvent(tx, { type: 'top_up.failed', userId: refill.userId, payload: { ruleId: refill.ruleId, refillId: refill.id, orderId: input.orderId } });
    }
    return topUpRefillView(refill);
  });
}
