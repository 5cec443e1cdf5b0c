/**
 * A paid order becomes a subscription period and a grant of credits, each step idempotent by the
 * order id (a period row is unique per order; the grant is made under the key `order:<id>/grant`), so
 * a retried or replayed step never provisions twice. The same module takes a share back for refunds
 * and for the saga's compensation.
 */
import { planPeriod } from './rules/subscription-period';
import type { Database, Tx } from '../../platform/database';
import { OLDEST_FIRST, type Page, type PageRequest } from '../../platform/pagination';
import { assignPackage, applyMovements, lockUserCredits, afterBalanceChange } from '../credits';
import { recordEvent } from '../../platform/outbox/record';
import { getOrder, transitionOrder, recheckPlacementRules, subscriptionView, type SubscriptionView } from '../orders';

export interface ProvisionedPeriod {
  subscriptionId: string;
  periodStart: string;
  periodEnd: string | null;
}

/**
 * Step 1: create the user's subscription to the package, or renew it by one period
 * (modules/subscriptions/rules/subscription-period.ts), after checking again the rules the order was placed under that
 * may no longer hold (modules/orders/placement-rules.ts): a refusal is thrown and the workflow refunds.
 */
export async function provisionSubscription(db: Database, orderId: string): Promise<ProvisionedPeriod> {
  return db.$transaction(async (tx) => {
    const order = await getOrder(tx, orderId);
    await lockUserCredits(tx, order.userId);
    const existing = await tx.subscriptionPeriod.findUnique({ where: { orderId } });
    if (existing) {
      return { subscriptionId: existing.subscriptionId, periodStart: existing.periodStart.toISOString(), periodEnd: existing.periodEnd?.toISOString() ?? null };
    }
    await recheckPlacementRules(tx, order);
    const current = await tx.subscription.findUnique({ where: { userId_packageId: { userId: order.userId, packageId: order.packageId } } });
    const now = new Date();
    const plan = planPeriod(current, now, order.durationDays);
    const subscription = current
      ? await tx.subscription.update({
          where: { id: current.id },
          data: {
            status: 'active',
            currentPeriodEnd: plan.end,
            ...(plan.kind === 'renewal' ? {} : { currentPeriodStart: plan.start }),
          },
        })
      : await tx.subscription.create({
          data: { userId: order.userId, packageId: order.packageId, currentPeriodStart: plan.start, currentPeriodEnd: plan.end },
        });
    await tx.subscriptionPeriod.create({
      data: { subscriptionId: subscription.id, orderId, kind: plan.kind, periodStart: plan.start, periodEnd: plan.end },
    });
    // The order moves paid -> provisioning with the same statement (guarded like transitionOrder).
    const moved = order.status === 'paid' && (await transitionOrder(tx, orderId, 'provisioning', { subscriptionId: subscription.id }));
    if (!moved) await tx.order.update({ where: { id: orderId }, data: { subscriptionId: subscription.id } });
    return { subscriptionId: subscription.id, periodStart: plan.start.toISOString(), periodEnd: plan.end?.toISOString() ?? null };
  });
}

/**
 * Step 2: grant the period's credits through the credit engine (ledger entry included), with the
 * package's priority (snapshotted on the order) and an expiry at the period's end. Spendable at once.
 */
export async function grantOrderCredits(db: Database, orderId: string): Promise<{ grantId: string }> {
  const order = await getOrder(db, orderId);
  const period = await db.subscriptionPeriod.findUnique({ where: { orderId } });
  if (!period) throw new Error(`grantOrderCredits: order ${orderId} has no subscription period yet`);
  if (period.grantId) return { grantId: period.grantId };
  const { body: grant } = await assignPackage(
    db,
    {
      userId: order.userId,
      packageCode: order.packageCode,
      source: 'purchase',
      note: `order ${orderId}`,
      priority: order.priority,
      expiresAt: period.periodEnd,
      credits: order.creditsAmount,
      // Paid for while it was on sale: delivered even if withdrawn since.
      evenIfWithdrawn: true,
    },
    { scope: `order:${orderId}`, key: 'grant', requestHash: 'grant' },
    'system:order',
  );
  await db.$transaction(async (tx) => {
    // Recording the grant on the period is the step's commit point, so its event is written with it: once.
    const recorded = await tx.subscriptionPeriod.updateMany({ where: { orderId, grantId: null }, data: { grantId: grant.id } });
    if (recorded.count === 0) return;
    await tx.order.update({ where: { id: orderId }, data: { grantId: grant.id } });
    await recordEvent(tx, {
      type: period.kind === 'renewal' ? 'subscription.renewed' : 'subscription.provisioned',
      userId: order.userId,
      payload: {
        subscriptionId: period.subscriptionId,
        orderId,
        packageCode: order.packageCode,
        grantId: grant.id,
        currentPeriodEnd: period.periodEnd?.toISOString() ?? null,
      },
    });
  });
  return { grantId: grant.id };
}

export interface RevokedShare {
  creditsRevoked: number;
  secondsRevoked: number;
}

/**
 * Takes back `credits` from the order's grant (never more than it has available) and `seconds` from
 * the subscription's end, in the caller's transaction; `full` also marks the grant revoked. With
 * `credits: 'all'` it takes whatever is left (the saga's compensation).
 */
export async function revokeOrderShare(
  tx: Tx,
  orderId: string,
  share: { credits: number | 'all'; seconds: number | 'all'; full: boolean; referenceId: string; actor: string },
): Promise<RevokedShare> {
  const order = await getOrder(tx, orderId);
  await lockUserCredits(tx, order.userId);
  const period = await tx.subscriptionPeriod.findUnique({ where: { orderId } });
  let creditsRevoked = 0;
  if (period?.grantId) {
    const grant = await tx.userPackage.findUniqueOrThrow({ where: { id: period.grantId } });
    const available = grant.totalCredits - grant.usedCredits - grant.reservedCredits;
    creditsRevoked = Math.max(0, Math.min(available, share.credits === 'all' ? available : share.credits));
    if (creditsRevoked > 0) {
      await applyMovements(tx, { userId: order.userId, referenceType: 'refund', referenceId: share.referenceId, actor: share.actor }, [
        { grantId: grant.id, entryType: 'adjust', amount: -creditsRevoked },
      ]);
    }
    if (share.full) await tx.userPackage.update({ where: { id: grant.id }, data: { status: 'revoked' } });
    await afterBalanceChange(tx, order.userId);
  }
  let secondsRevoked = 0;
  if (period) {
    const length = period.periodEnd ? Math.floor((period.periodEnd.getTime() - period.periodStart.getTime()) / 1000) : 0;
    secondsRevoked = Math.max(0, share.seconds === 'all' ? length - period.revokedSeconds : share.seconds);
    await tx.subscriptionPeriod.update({ where: { id: period.id }, data: { revokedSeconds: { increment: secondsRevoked } } });
    const subscription = await tx.subscription.findUniqueOrThrow({ where: { id: period.subscriptionId } });
    const now = new Date();
    const end = subscription.currentPeriodEnd ? new Date(subscription.currentPeriodEnd.getTime() - secondsRevoked * 1000) : null;
    const lapsed = end === null ? share.full : end <= now;
    await tx.subscription.update({
      where: { id: subscription.id },
      data: { currentPeriodEnd: end && end < subscription.currentPeriodStart ? subscription.currentPeriodStart : end, ...(lapsed ? { status: 'cancelled' } : {}) },
    });
  }
  return { creditsRevoked, secondsRevoked };
}

/** Oldest first. */
export async function listSubscriptions(db: Database, userId: string, page: PageRequest): Promise<Page<SubscriptionView>> {
  const subscriptions = await db.subscription.findMany({
    where: { AND: [{ userId }, OLDEST_FIRST.after(page.cursor)] },
    include: { periods: true },
    orderBy: OLDEST_FIRST.orderBy,
    take: OLDEST_FIRST.take(page),
  });
  return OLDEST_FIRST.page(subscriptions, page, subscriptionView);
}
