import type { Database } from '../../platform/database';
import { BillingError } from '../../platform/errors';
import { canTakeRefundBack, refundAmount, replacementGrantWindow } from './rules/refunds';
import { compareBurnDownOrder, drawInOrder } from './rules/burn-down';
import { applyMovements, type Movement } from './ledger';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';
import { lockUserCredits } from './locks';
import type { RefundView } from './views';
import { afterBalanceChange, recordEvent } from './events';

export interface RefundRequest {
  consumptionId: string;
  /** Defaults to everything not yet refunded. */
  credits?: number | undefined;
  reason: string;
}

export interface RefundPolicy {
  /** Validity of a replacement grant for credits whose original grant has expired or been revoked. */
  graceDays: number;
}

/**
 * Refunds a committed consumption, in full or in part: the compensation for an action that failed
 * after it was charged. Credits go back to the grants they came from, last-drawn first.
 * Rule for a grant that can no longer be spent from (expired, revoked, or past its expiry): its share
 * goes to a new `system` grant with the same priority, valid for `graceDays`, so the user gets back
 * what the failed action cost without reviving a lapsed grant.
 */
export async function refundConsumption(
  db: Database,
  request: RefundRequest,
  policy: RefundPolicy,
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<RefundView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const head = await tx.consumptionRecord.findUnique({ where: { id: request.consumptionId }, select: { userId: true } });
    if (!head) throw new BillingError('NOT_FOUND', `Consumption ${request.consumptionId} not found.`);
    await lockUserCredits(tx, head.userId);
    const consumption = await tx.consumptionRecord.findUniqueOrThrow({
      where: { id: request.consumptionId },
      include: { allocations: { include: { userPackage: true } } },
    });
    const credits = refundAmount(consumption, request.credits);

    const now = new Date();
    const lastDrawnFirst = [...consumption.allocations]
      .sort((a, b) => compareBurnDownOrder(b.userPackage, a.userPackage))
      .map((a) => ({ grantId: a.userPackageId, credits: a.credits - a.creditsRefunded }));
    const returned = drawInOrder(lastDrawnFirst, credits);

    const refund = await tx.consumptionRefund.create({
      data: { consumptionId: consumption.id, credits, reason: request.reason, idempotencyKey: idempotency.key, actor },
    });
    const movements: Movement[] = [];
    const returnedTo: RefundView['returnedTo'] = [];
    for (const part of returned) {
      const grant = consumption.allocations.find((a) => a.userPackageId === part.grantId)!.userPackage;
      await tx.consumptionAllocation.update({
        where: { consumptionId_userPackageId: { consumptionId: consumption.id, userPackageId: grant.id } },
        data: { creditsRefunded: { increment: part.credits } },
      });
      if (canTakeRefundBack(grant, now)) {
        movements.push({ grantId: grant.id, entryType: 'refund', amount: part.credits, usedDelta: -part.credits });
        returnedTo.push({ grantId: grant.id, credits: part.credits, replacementFor: null });
      } else {
        const replacement = await tx.userPackage.create({
          data: {
            userId: consumption.userId,
            packageId: grant.packageId,
            source: 'system',
            status: 'active',
            totalCredits: 0, // the ledger movement below brings it to part.credits
            priority: grant.priority,
            ...replacementGrantWindow(now, policy.graceDays),
            note: `Refund of consumption ${consumption.id}: grant ${grant.id} had ${grant.status === 'revoked' ? 'been revoked' : 'expired'}`,
            replacesGrantId: grant.id,
          },
        });
        movements.push({ grantId: replacement.id, entryType: 'refund', amount: part.credits });
        returnedTo.push({ grantId: replacement.id, credits: part.credits, replacementFor: grant.id });
      }
    }
    await applyMovements(
      tx,
      { userId: consumption.userId, referenceType: 'refund', referenceId: refund.id, idempotencyKey: idempotency.key, actor },
      movements,
    );
    const updated = await tx.consumptionRecord.update({
      where: { id: consumption.id },
      data: { creditsRefunded: { increment: credits } },
    });
    const reservation = await tx.reservation.findUnique({ where: { consumptionId: consumption.id }, select: { id: true } });
    await recordEvent(tx, {
      type: 'reservation.refunded',
      userId: consumption.userId,
      payload: { refundId: refund.id, consumptionId: consumption.id, reservationId: reservation?.id ?? null, credits, reason: request.reason },
    });
    await afterBalanceChange(tx, consumption.userId);
    return {
      id: refund.id,
      consumptionId: consumption.id,
      credits,
      reason: request.reason,
      consumptionCreditsRefunded: updated.creditsRefunded,
      returnedTo,
      createdAt: refund.createdAt.toISOString(),
    };
  });
}

/** A consumption's refunds, oldest first (where each went is in the ledger, by refund id). */
export async function listRefunds(db: Database, consumptionId: string): Promise<RefundView[]> {
  const [consumption, refunds] = await Promise.all([
    db.consumptionRecord.findUniqueOrThrow({ where: { id: consumptionId }, select: { creditsRefunded: true } }),
    db.consumptionRefund.findMany({ where: { consumptionId }, orderBy: { createdAt: 'asc' } }),
  ]);
  const entries = await db.creditLedgerEntry.findMany({
    where: { referenceType: 'refund', referenceId: { in: refunds.map((r) => r.id) } },
    include: { userPackage: { select: { replacesGrantId: true } } },
  });
  return refunds.map((refund) => ({
    id: refund.id,
    consumptionId,
    credits: refund.credits,
    reason: refund.reason,
    consumptionCreditsRefunded: consumption.creditsRefunded,
    returnedTo: entries
      .filter((entry) => entry.referenceId === refund.id)
      .map((entry) => ({ grantId: entry.userPackageId, credits: entry.amount, replacementFor: entry.userPackage.replacesGrantId })),
    createdAt: refund.createdAt.toISOString(),
  }));
}
