/**
 * Top-up rules: "when available credits fall below T (a threshold rule), or on day D of each month in
 * UTC (an interval rule), buy package P in currency C, at most N refills or amount A per calendar month".
 * One rule per user, of either kind: both kinds count against the same monthly caps, and one rule keeps
 * "what will this user be charged" a single answer. Written by the user (/v1/me/top-up-rules) or an admin
 * (/v1/admin/users/{userId}/top-up-rules); every write is idempotent and audited (audit_events).
 */
import { randomUUID } from 'node:crypto';
import { z } from '../../platform/zod';
import { BillingError } from '../../platform/errors';
import { isKnownCurrency } from '../../platform/currencies';
import { uniqueOrConflict, type Database, type Tx } from '../../platform/database';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';
import { packageOnSale, recordAudit } from '../catalog';
import { resolvePrice } from '../pricing';
import { quoteOrderTax } from '../invoices';
import type { TopUpRule } from '../../generated/prisma/client';

export const topUpRuleSchema = z
  .object({
    id: z.uuid(),
    userId: z.string(),
    kind: z.enum(['threshold', 'interval']).openapi({ description: '`threshold`: a refill when available credits fall below `thresholdCredits`; `interval`: a refill on `dayOfMonth` of each month (UTC), run by a Temporal Schedule.' }),
    thresholdCredits: z.number().int().nullable().openapi({ description: 'A threshold rule: a refill starts when available credits fall below this. Null for an interval rule.' }),
    dayOfMonth: z.number().int().nullable().openapi({ description: 'An interval rule: the day of each month (1-28, at 00:00 UTC) its refill runs. Null for a threshold rule.' }),
    packageCode: z.string(),
    currency: z.string(),
    maxTopUpsPerMonth: z.number().int().nullable().openapi({ description: 'At most this many refills per calendar month (UTC); null: no count cap.' }),
    maxAmountMinorPerMonth: z.number().int().nullable().openapi({ description: 'At most this much charged per calendar month (UTC), in minor units of `currency`; null: no amount cap.' }),
    status: z.enum(['active', 'paused']),
    paymentMethodId: z.uuid().nullable().openapi({ description: "The saved payment method each refill charges (GET /v1/me/payment-methods); null: the user's newest saved method." }),
    pausedReason: z.string().nullable().openapi({ description: 'Why the rule is paused: `by_user`, `by_admin`, or `payment_declined` (a refill gave up after its last refused charge).' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('TopUpRule');
export type TopUpRuleView = z.infer<typeof topUpRuleSchema>;

export function topUpRuleView(rule: TopUpRule): TopUpRuleView {
  return {
    id: rule.id,
    userId: rule.userId,
    kind: rule.kind,
    thresholdCredits: rule.thresholdCredits,
    dayOfMonth: rule.dayOfMonth,
    packageCode: rule.packageCode,
    currency: rule.currency,
    maxTopUpsPerMonth: rule.maxTopUpsPerMonth,
    maxAmountMinorPerMonth: rule.maxAmountMinorPerMonth,
    status: rule.status,
    paymentMethodId: rule.paymentMethodId,
    pausedReason: rule.pausedReason,
    createdAt: rule.createdAt.toISOString(),
    updatedAt: rule.updatedAt.toISOString(),
  };
}

export interface TopUpRuleInput {
  /** Default `threshold`. */
  kind?: 'threshold' | 'interval' | undefined;
  /** A threshold rule's threshold (required for one, refused for an interval rule). */
  thresholdCredits?: number | undefined;
  /** An interval rule's day of the month, 1-28 (required for one, refused for a threshold rule). */
  dayOfMonth?: number | undefined;
  packageCode: string;
  /** ISO 4217; default the package's own. */
  currency?: string | undefined;
  maxTopUpsPerMonth?: number | undefined;
  maxAmountMinorPerMonth?: number | undefined;
  /** The user's saved method each refill charges; default the newest one at each refill. */
  paymentMethodId?: string | undefined;
}

/**
 * The checks a rule must pass to be written: the package is on sale and grants credits, it has a price
 * in the currency, and the amount cap allows at least one purchase. Answers the package and its price.
 */
async function validateRule(tx: Tx, userId: string, input: TopUpRuleInput): Promise<{ packageId: string; currency: string }> {
  checkTrigger(input);
  if (input.paymentMethodId !== undefined) await lockUsableMethod(tx, userId, input.paymentMethodId);
  const pkg = await packageOnSale(tx, input.packageCode);
  if (pkg.creditsAmount <= 0) {
    throw new BillingError('PACKAGE_UNAVAILABLE', `Package "${pkg.code}" grants no credits, so it cannot refill them.`, { packageCode: pkg.code });
  }
  if (input.currency !== undefined && !isKnownCurrency(input.currency)) {
    throw new BillingError('CURRENCY_NOT_SUPPORTED', `${input.currency} is not in the currency table.`, { currency: input.currency, supportedBy: 'platform' });
  }
  const price = await resolvePrice(tx, pkg, input.currency);
  // One purchase as it would be charged (with TAX_PRICES=exclusive, the price plus the user's tax).
  const chargedMinor = (await quoteOrderTax(tx, userId, price.amountMinor)).totalMinor;
  if (input.maxAmountMinorPerMonth !== undefined && input.maxAmountMinorPerMonth < chargedMinor) {
    throw new BillingError(
      'TOP_UP_CAP_TOO_LOW',
      `A monthly cap of ${input.maxAmountMinorPerMonth} is below one purchase of "${pkg.code}" (${chargedMinor} ${price.currency}).`,
      { maxAmountMinorPerMonth: input.maxAmountMinorPerMonth, priceMinor: chargedMinor, currency: price.currency },
    );
  }
  return { packageId: pkg.id, currency: price.currency };
}

/** Each kind has exactly its own trigger: a threshold rule a threshold, an interval rule a day every month has. */
function checkTrigger(input: TopUpRuleInput): void {
  const kind = input.kind ?? 'threshold';
  if (kind === 'threshold') {
    if (input.thresholdCredits === undefined || input.dayOfMonth !== undefined) {
      throw new BillingError('VALIDATION_FAILED', 'A threshold rule takes thresholdCredits and no dayOfMonth.', { kind, field: input.thresholdCredits === undefined ? 'thresholdCredits' : 'dayOfMonth' });
    }
    return;
  }
  if (input.dayOfMonth === undefined || input.thresholdCredits !== undefined) {
    throw new BillingError('VALIDATION_FAILED', 'An interval rule takes dayOfMonth and no thresholdCredits.', { kind, field: input.dayOfMonth === undefined ? 'dayOfMonth' : 'thresholdCredits' });
  }
  if (!Number.isInteger(input.dayOfMonth) || input.dayOfMonth < 1 || input.dayOfMonth > 28) {
    throw new BillingError('VALIDATION_FAILED', 'dayOfMonth must be 1-28, a day every month has.', { kind, field: 'dayOfMonth', dayOfMonth: input.dayOfMonth });
  }
}

/**
 * Refuses a method that is not one of the user's saved methods (unknown, another user's, removed) with
 * PAYMENT_METHOD_UNAVAILABLE. FOR SHARE holds the method's row until the rule is written, so a removal
 * at the same moment waits and then sees the rule (PAYMENT_METHOD_IN_USE), or wins and this is refused.
 */
async function lockUsableMethod(tx: Tx, userId: string, methodId: string): Promise<void> {
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT id FROM saved_payment_methods WHERE id = ${methodId}::uuid AND user_id = ${userId} AND removed_at IS NULL FOR SHARE`;
  if (rows.length === 0) {
    throw new BillingError('PAYMENT_METHOD_UNAVAILABLE', 'The payment method is not one of your saved payment methods.', { paymentMethodId: methodId });
  }
}

function ruleNotFound(userId: string, ruleId?: string): BillingError {
  return new BillingError('NOT_FOUND', 'Top-up rule not found.', { userId, ...(ruleId ? { ruleId } : {}) });
}

async function audit(tx: Tx, actor: string, action: string, ruleId: string, before: TopUpRuleView | null, after: TopUpRuleView | null, idempotency: Idempotency) {
  await recordAudit(tx, { actor, action, entityType: 'top_up_rule', entityId: ruleId, before, after }, idempotency);
}

export async function createTopUpRule(
  db: Database,
  userId: string,
  input: TopUpRuleInput,
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<TopUpRuleView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const { packageId, currency } = await validateRule(tx, userId, input);
    const created = await uniqueOrConflict(
      () =>
        tx.topUpRule.create({
          data: {
            id: randomUUID(),
            userId,
            kind: input.kind ?? 'threshold',
            thresholdCredits: input.thresholdCredits ?? null,
            dayOfMonth: input.dayOfMonth ?? null,
            packageId,
            packageCode: input.packageCode,
            currency,
            maxTopUpsPerMonth: input.maxTopUpsPerMonth ?? null,
            maxAmountMinorPerMonth: input.maxAmountMinorPerMonth ?? null,
            paymentMethodId: input.paymentMethodId ?? null,
          },
        }),
      'This user already has a top-up rule: delete it first.',
      { userId },
    );
    const after = topUpRuleView(created);
    await audit(tx, actor, 'top_up_rule.created', created.id, null, after, idempotency);
    return after;
  });
}

/** The user's rules (at most one today; a list so more can come without a breaking change). */
export async function listTopUpRules(db: Database, userId: string): Promise<{ items: TopUpRuleView[] }> {
  const rules = await db.topUpRule.findMany({ where: { userId }, orderBy: { createdAt: 'asc' } });
  return { items: rules.map(topUpRuleView) };
}

export async function getTopUpRule(db: Database, userId: string, ruleId: string): Promise<TopUpRuleView> {
  const rule = await db.topUpRule.findFirst({ where: { id: ruleId, userId } });
  if (!rule) throw ruleNotFound(userId, ruleId);
  return topUpRuleView(rule);
}

/** Pauses (reason given) or resumes (reason null) a rule; pausing a paused rule changes nothing but is answered. */
export async function setTopUpRulePaused(
  db: Database,
  userId: string,
  ruleId: string,
  pausedReason: string | null,
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<TopUpRuleView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const current = await tx.topUpRule.findFirst({ where: { id: ruleId, userId } });
    if (!current) throw ruleNotFound(userId, ruleId);
    if (pausedReason === null) {
      // Resuming checks the rule again: its package or price may have changed while it was paused.
      await validateRule(tx, userId, {
        kind: current.kind,
        thresholdCredits: current.thresholdCredits ?? undefined,
        dayOfMonth: current.dayOfMonth ?? undefined,
        packageCode: current.packageCode,
        currency: current.currency,
        maxAmountMinorPerMonth: current.maxAmountMinorPerMonth ?? undefined,
        paymentMethodId: current.paymentMethodId ?? undefined,
      });
    }
    const updated = await tx.topUpRule.update({ where: { id: ruleId }, data: { status: pausedReason === null ? 'active' : 'paused', pausedReason } });
    const after = topUpRuleView(updated);
    await audit(tx, actor, pausedReason === null ? 'top_up_rule.resumed' : 'top_up_rule.paused', ruleId, topUpRuleView(current), after, idempotency);
    return after;
  });
}

export async function deleteTopUpRule(db: Database, userId: string, ruleId: string, idempotency: Idempotency, actor: string): Promise<IdempotentResult<TopUpRuleView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const current = await tx.topUpRule.findFirst({ where: { id: ruleId, userId } });
    const { count } = await tx.topUpRule.deleteMany({ where: { id: ruleId, userId } });
    if (count === 0 || !current) throw ruleNotFound(userId, ruleId);
    const before = topUpRuleView(current);
    await audit(tx, actor, 'top_up_rule.deleted', ruleId, before, null, idempotency);
    return before;
  });
}
