import type { Database } from '../infra/database';
import { countCreditOperation } from '../infra/metrics';
import { applyMovements } from './ledger';
import { priceAndAllocate, spendableCredits } from './grants';
import { priceAction } from './pricing';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../idempotency/store';
import { recordConsumption } from './consumptions';
import type { ConsumptionView } from './views';
import { afterBalanceChange, recordEvent } from './events';

export interface CreditCheck {
  userId: string;
  actionKey: string;
  quantity: number;
  required: number;
  available: number;
  sufficient: boolean;
}

/** Read-only: would this action be affordable now? (No hold: use a reservation to be sure.) */
export async function checkCredits(db: Database, userId: string, actionKey: string, quantity: number): Promise<CreditCheck> {
  const priced = await priceAction(db, actionKey, quantity);
  const available = await db.$transaction((tx) => spendableCredits(tx, userId, new Date()));
  return { userId, actionKey, quantity, required: priced.credits, available, sufficient: available >= priced.credits };
}

export interface DeductRequest {
  userId: string;
  actionKey: string;
  quantity: number;
  metadata?: Record<string, unknown> | undefined;
}

/** Check and spend in one transaction, for quick one-shot actions. */
export async function deductCredits(
  db: Database,
  request: DeductRequest,
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<ConsumptionView>> {
  return countCreditOperation('deduct', () => runIdempotent(db, idempotency, async (tx) => {
    const { priced, allocations } = await priceAndAllocate(tx, request.userId, request.actionKey, request.quantity, new Date());
    const consumption = await recordConsumption(tx, {
      userId: request.userId,
      actionKey: priced.actionKey,
      quantity: request.quantity,
      unitPrice: priced.unitPrice,
      creditsCost: priced.credits,
      metadata: request.metadata,
      allocations,
    });
    await applyMovements(
      tx,
      { userId: request.userId, referenceType: 'consumption', referenceId: consumption.id, idempotencyKey: idempotency.key, actor },
      allocations.map((a) => ({ grantId: a.grantId, entryType: 'deduct', amount: -a.credits, usedDelta: a.credits })),
    );
    await recordEvent(tx, {
      type: 'credits.deducted',
      userId: request.userId,
      payload: { consumptionId: consumption.id, actionKey: priced.actionKey, quantity: request.quantity, credits: priced.credits },
    });
    await afterBalanceChange(tx, request.userId);
    return consumption;
  }));
}
