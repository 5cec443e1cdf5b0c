import { BillingError } from '../../platform/errors';
import type { Tx } from '../../platform/database';

const MAX_CREDITS_PER_CALL = 2_147_483_647;

export interface PricedAction {
  actionKey: string;
  unitPrice: number;
  credits: number;
}

/** The pricing refusals, worded once (the deduct function in SQL raises their codes: modules/credits/spend.ts). */
export const unknownAction = (actionKey: string) => new BillingError('NOT_FOUND', `Unknown action_key "${actionKey}".`, { actionKey });
export const actionDisabled = (actionKey: string) =>
  new BillingError('ACTION_DISABLED', `Action "${actionKey}" is disabled and cannot be charged.`, { actionKey });
export const quantityTooLarge = (actionKey: string, quantity: number) =>
  new BillingError('VALIDATION_FAILED', 'quantity is too large for this action.', { actionKey, quantity });

/** Prices `quantity` units of an active action; the unit price is snapshotted by the caller's records. */
export async function priceAction(tx: Pick<Tx, 'actionPrice'>, actionKey: string, quantity: number): Promise<PricedAction> {
  const price = await tx.actionPrice.findUnique({ where: { actionKey } });
  if (!price) throw unknownAction(actionKey);
  if (price.status !== 'active') throw actionDisabled(actionKey);
  const credits = price.creditsPerUnit * quantity;
  if (!Number.isSafeInteger(credits) || credits > MAX_CREDITS_PER_CALL) {
    throw quantityTooLarge(actionKey, quantity);
  }
  return { actionKey, unitPrice: price.creditsPerUnit, credits };
}
