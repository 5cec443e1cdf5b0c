import { BillingError } from '../domain/errors';
import type { Tx } from '../infra/database';

const MAX_CREDITS_PER_CALL = 2_147_483_647;

export interface PricedAction {
  actionKey: string;
  unitPrice: number;
  credits: number;
}

/** Prices `quantity` units of an active action; the unit price is snapshotted by the caller's records. */
export async function priceAction(tx: Pick<Tx, 'actionPrice'>, actionKey: string, quantity: number): Promise<PricedAction> {
  const price = await tx.actionPrice.findUnique({ where: { actionKey } });
  if (!price) throw new BillingError('NOT_FOUND', `Unknown action_key "${actionKey}".`, { actionKey });
  if (price.status !== 'active') {
    throw new BillingError('ACTION_DISABLED', `Action "${actionKey}" is disabled and cannot be charged.`, { actionKey });
  }
  const credits = price.creditsPerUnit * quantity;
  if (!Number.isSafeInteger(credits) || credits > MAX_CREDITS_PER_CALL) {
    throw new BillingError('VALIDATION_FAILED', 'quantity is too large for this action.', { actionKey, quantity });
  }
  return { actionKey, unitPrice: price.creditsPerUnit, credits };
}
