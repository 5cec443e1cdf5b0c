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
import type { TopUpRefill, TopUpRule } from '../../generated/prisma/client';
import { monthOf } from './rules/caps';

export const topUpRefillSchema = z
  .object({
    id: z.string().openapi({ description: 'The refill workflow id: `top-up-<ruleId>-<trigger id>` (a threshold crossing: the newest grant\'s id; an interval rule\'s month: `YYYY-MM`; a manual top-up: `top-up-manual-<hash of the caller and its Idempotency-Key>`).' }),
    workflowId: z.string().openapi({ description: 'The refill workflow run in Temporal (the same as `id`).' }),
    ruleId: z.uuid().nullable().openapi({ description: "The rule whose monthly caps it counts against; null for a manual top-up of a user without a rule." }),
    userId: z.string(),
    trigger: z.enum(['threshold', 'manual', 'interval']).openapi({ description: "What started it: the balance crossing the rule's threshold, the user (`POST /v1/me/top-ups`), or the rule's interval Schedule." }),
    packageCode: z.string().nullable().openapi({ description: "The package it buys (null: the rule's)." }),
    paymentMethodId: z.uuid().nullable().openapi({ description: "The saved method it charges (null: the user's newest)." }),
    month: z.string().openapi({ description: 'The calendar month (UTC) it counts against, `YYYY-MM`.' }),
    amountMinor: z.number().int(),
    currency: z.string(),
    status: z.enum(['claimed', 'capped', 'released']).openapi({
      description: '`claimed`: it took a slot of the month\'s caps; `capped`: the caps were reached, nothing bought; `released`: it gave its slot back (the purchase did not happen).',
    }),
    outcome: z.enum(['pending', 'requires_action', 'succeeded', 'failed']).openapi({
      description: '`pending`: under way; `requires_action`: the bank wants the customer present (open `actionUrl`, then confirm); `succeeded`: paid, its credits handed to the order to grant; `failed`: given up (`failureReason`).',
    }),
    orderId: z.uuid().nullable(),
    actionUrl: z.string().nullable().openapi({ description: 'While `requires_action`: where the customer completes the payment (3-D Secure).' }),
    failureReason: z.string().nullable().openapi({ description: '`payment_declined` (the last charge of the dunning schedule was refused), `action_abandoned` (the customer did not complete the payment in time), `no_payment_method` (no usable saved method), or the refusal\'s error code.' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('TopUpRefill');
export type TopUpRefillView = z.infer<typeof topUpRefillSchema>;

export function topUpRefillView(refill: TopUpRefill): TopUpRefillView {
  return {
    id: refill.id,
    workflowId: refill.id,
    ruleId: refill.ruleId,
    userId: refill.userId,
    trigger: refill.trigger,
    packageCode: refill.packageCode,
    paymentMethodId: refill.paymentMethodId,
    month: refill.month,
    amountMinor: refill.amountMinor,
    currency: refill.currency,
    status: refill.status,
    outcome: refill.outcome,
    orderId: refill.orderId,
    actionUrl: refill.actionUrl,
    failureReason: refill.failureReason,
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

/** Gives a claimed refill's slot back in the caller's transaction; true when this call released it. */
async function giveSlotBack(tx: Tx, refillId: string): Promise<{ released: boolean; refill: TopUpRefill }> {
  const { count } = await tx.topUpRefill.updateMany({ where: { id: refillId, status: 'claimed' }, data: { status: 'released' } });
  const refill = await tx.topUpRefill.findUniqueOrThrow({ where: { id: refillId } });
  if (count === 1 && refill.ruleId !== null) {
    await tx.$executeRaw`
      UPDATE top_up_months SET top_ups = top_ups - 1, amount_minor = amount_minor - ${refill.amountMinor}, updated_at = now()
      WHERE rule_id = ${refill.ruleId}::uuid AND month = ${refill.month}`;
  }
  return { released: count === 1, refill };
}

/**
 * Claims a slot of the rule's monthly caps for one refill, at `at` (the refill's start, in workflow time).
 * NOT_FOUND when the rule is gone, PACKAGE_UNAVAILABLE / CURRENCY_NOT_SUPPORTED when it can no longer buy.
 * A paused rule claims nothing: `undefined`. A refill claimed before (a manual top-up is claimed by its
 * request, before its workflow starts) answers what that claim decided.
 */
export async function claimRefill(db: Database, refillId: string, ruleId: string | null, at: Date): Promise<TopUpRefillView | undefined> {
  return db.$transaction(async (tx) => {
    const earlier = await tx.topUpRefill.findUnique({ where: { id: refillId } });
    if (earlier) return topUpRefillView(earlier);
    if (ruleId === null) throw new BillingError('NOT_FOUND', 'Top-up refill not found.', { refillId });
    const rule = await tx.topUpRule.findUnique({ where: { id: ruleId } });
    if (!rule) throw new BillingError('NOT_FOUND', 'Top-up rule not found.', { ruleId });
    if (rule.status !== 'active') return undefined;
    return claimInTx(tx, { refillId, userId: rule.userId, rule, trigger: 'threshold', packageCode: rule.packageCode }, at);
  });
}

export interface RefillClaim {
  refillId: string;
  userId: string;
  /** The rule whose caps it counts against; null: no caps (a manual top-up of a user without a rule). */
  rule: TopUpRule | null;
  trigger: 'threshold' | 'manual' | 'interval';
  packageCode: string;
  paymentMethodId?: string | undefined;
}

/**
 * Writes the refill row and takes its slot, in the caller's transaction: the row first (ON CONFLICT DO
 * NOTHING, so a second claim of one refill answers the first's decision), then the month's counter.
 */
export async function claimInTx(tx: Tx, claim: RefillClaim, at: Date): Promise<TopUpRefillView> {
  const { rule } = claim;
  const price = await resolvePrice(tx, await packageOnSale(tx, claim.packageCode), rule?.currency);
  // The cap counts what the refill's order will charge: with TAX_PRICES=exclusive, the price plus the
  // user's tax (fixed the same way when the order is placed a moment later).
  const charged = (await quoteOrderTax(tx, claim.userId, price.amountMinor)).totalMinor;
  const month = monthOf(at);
  const inserted = await tx.$executeRaw`
    INSERT INTO top_up_refills (id, rule_id, user_id, month, amount_minor, currency, status, trigger, package_code, payment_method_id, updated_at)
    VALUES (${claim.refillId}, ${rule?.id ?? null}::uuid, ${claim.userId}, ${month}, ${charged}, ${price.currency}, 'capped',
            ${claim.trigger}::"TopUpRefillTrigger", ${claim.trigger === 'manual' ? claim.packageCode : null}, ${claim.paymentMethodId ?? null}::uuid, now())
    ON CONFLICT (id) DO NOTHING`;
  if (inserted === 0) return topUpRefillView(await tx.topUpRefill.findUniqueOrThrow({ where: { id: claim.refillId } }));
  const claimed = rule === null || (await takeSlot(tx, rule.id, month, charged, { maxTopUps: rule.maxTopUpsPerMonth, maxAmount: rule.maxAmountMinorPerMonth }));
  const refill = await tx.topUpRefill.update({ where: { id: claim.refillId }, data: claimed ? { status: 'claimed' } : { status: 'capped', outcome: 'failed', failureReason: 'capped' } });
  return topUpRefillView(refill);
}

/** Gives a claimed refill's slot back (its purchase did not happen); a second release changes nothing. */
export async function releaseRefill(db: Database, refillId: string): Promise<TopUpRefillView> {
  return db.$transaction(async (tx) => topUpRefillView((await giveSlotBack(tx, refillId)).refill));
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

/** Why a refill gave up (`failureReason`): each pauses a rule-driven refill's rule with the same reason. */
export type RefillFailure = 'payment_declined' | 'action_abandoned' | 'no_payment_method' | (string & {});

/**
 * A refill that gave up, in one transaction: its slot goes back, it is marked failed with its reason,
 * the rule that started it (threshold or interval, not a manual top-up) is paused with that reason, and
 * `top_up.failed` is recorded (the user is notified: in-app and email, modules/events templates).
 * Done once: a retry finds the refill released already and changes nothing.
 */
export async function failRefill(db: Database, input: { refillId: string; orderId: string | null; reason?: RefillFailure | undefined }): Promise<TopUpRefillView> {
  const reason = input.reason === 'PAYMENT_METHOD_REQUIRED' ? 'no_payment_method' : (input.reason ?? 'payment_declined');
  return db.$transaction(async (tx) => {
    const { released, refill } = await giveSlotBack(tx, input.refillId);
    if (!released) return topUpRefillView(refill);
    const failed = await tx.topUpRefill.update({ where: { id: refill.id }, data: { outcome: 'failed', failureReason: reason, actionUrl: null } });
    const pausesRule = refill.ruleId !== null && refill.trigger !== 'manual';
    if (pausesRule) await tx.topUpRule.updateMany({ where: { id: refill.ruleId!, status: 'active' }, data: { status: 'paused', pausedReason: reason } });
    await recordEvent(tx, {
      type: 'top_up.failed',
      userId: refill.userId,
      payload: { ruleId: refill.ruleId, refillId: refill.id, orderId: input.orderId, reason, rulePaused: pausesRule, trigger: refill.trigger },
    });
    return topUpRefillView(failed);
  });
}

/** Notes the order a refill placed, so a poll shows it. */
export async function noteRefillOrder(db: Database, refillId: string, orderId: string): Promise<void> {
  await db.topUpRefill.updateMany({ where: { id: refillId, orderId: null }, data: { orderId } });
}

/**
 * The bank wants the customer present (3-D Secure): the refill waits with the link, and
 * `top_up.requires_action` is recorded once per link (the user gets it by webhook, in-app and email).
 */
export async function noteActionRequired(db: Database, refillId: string, actionUrl: string): Promise<TopUpRefillView> {
  return db.$transaction(async (tx) => {
    const { count } = await tx.topUpRefill.updateMany({
      where: { id: refillId, outcome: { in: ['pending', 'requires_action'] }, OR: [{ actionUrl: null }, { actionUrl: { not: actionUrl } }] },
      data: { outcome: 'requires_action', actionUrl },
    });
    const refill = await tx.topUpRefill.findUniqueOrThrow({ where: { id: refillId } });
    if (count === 1) {
      await recordEvent(tx, { type: 'top_up.requires_action', userId: refill.userId, payload: { ruleId: refill.ruleId, refillId, orderId: refill.orderId, actionUrl, trigger: refill.trigger } });
    }
    return topUpRefillView(refill);
  });
}

/** A refill paid and handed to its order to grant: `succeeded`, and `top_up.succeeded` recorded once. */
export async function completeRefill(db: Database, refillId: string): Promise<TopUpRefillView> {
  return db.$transaction(async (tx) => {
    const { count } = await tx.topUpRefill.updateMany({ where: { id: refillId, outcome: { in: ['pending', 'requires_action'] } }, data: { outcome: 'succeeded', actionUrl: null } });
    const refill = await tx.topUpRefill.findUniqueOrThrow({ where: { id: refillId } });
    if (count === 1) {
      await recordEvent(tx, {
        type: 'top_up.succeeded',
        userId: refill.userId,
        payload: { ruleId: refill.ruleId, refillId, orderId: refill.orderId, amountMinor: refill.amountMinor, currency: refill.currency, trigger: refill.trigger },
      });
    }
    return topUpRefillView(refill);
  });
}

/** A refill by id, for the refill's own steps; undefined when there is none. */
export async function getRefillById(db: Database, refillId: string): Promise<TopUpRefillView | undefined> {
  const refill = await db.topUpRefill.findUnique({ where: { id: refillId } });
  return refill ? topUpRefillView(refill) : undefined;
}

/** One of the user's refills; another user's is NOT_FOUND. */
export async function getRefill(db: Database, userId: string, refillId: string): Promise<TopUpRefillView> {
  const refill = await db.topUpRefill.findFirst({ where: { id: refillId, userId } });
  if (!refill) throw new BillingError('NOT_FOUND', 'Top-up not found.', { refillId });
  return topUpRefillView(refill);
}
