/**
 * Manual top-ups: a user (an agent with the user's token) buys a package with their saved method in one
 * call, answered at once with the refill to poll (its workflow does the buying). The refill's id comes
 * from the caller's credential scope and Idempotency-Key, so a retry is the same top-up and another key
 * (or another caller) a different one. It counts against the user's rule's monthly caps when they have a
 * rule (the same counter a threshold or interval refill takes, in the same kind of transaction), and is
 * claimed in the request, so the answer already says whether the caps had room.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { BillingError } from '../../platform/errors';
import type { Database } from '../../platform/database';
import { runClaimed, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';
import { packageOnSale } from '../catalog';
import { TOP_UP_ACTION_COMPLETED_SIGNAL } from '../../workflows/top-up-refill-contract';
import { claimInTx, getRefill, type TopUpRefillView } from './refills';
import { startRefill, type RefillStartDeps } from './refill-start';
import { refillMethodOf } from './payment-methods';

/** The refill id of a manual top-up: one per credential scope and Idempotency-Key. */
export function manualRefillId(idempotency: Pick<Idempotency, 'scope' | 'key'>): string {
  const digest = createHash('sha256').update(`${idempotency.scope}\n${idempotency.key}`).digest('hex').slice(0, 32);
  return `top-up-manual-${digest}`;
}

export interface ManualTopUpInput {
  packageCode: string;
  /** A saved method of the user's; default the one their rule charges, else their newest. */
  paymentMethodId?: string | undefined;
}

/**
 * Claims the top-up (caps, package, saved method checked in one transaction) and starts its refill.
 * Refused, it leaves nothing behind and frees the key: PACKAGE_UNAVAILABLE, CURRENCY_NOT_SUPPORTED (no
 * price in the rule's currency), PAYMENT_METHOD_REQUIRED (no usable saved method), TOP_UP_CAP_REACHED.
 */
export async function startManualTopUp(deps: RefillStartDeps, userId: string, input: ManualTopUpInput, idempotency: Idempotency): Promise<IdempotentResult<TopUpRefillView>> {
  const refillId = manualRefillId(idempotency);
  return runClaimed(deps.db, idempotency, async () => {
    const refill = await deps.db.$transaction(async (tx) => {
      const pkg = await packageOnSale(tx, input.packageCode);
      if (pkg.creditsAmount <= 0) throw new BillingError('PACKAGE_UNAVAILABLE', `Package "${pkg.code}" grants no credits.`, { packageCode: pkg.code });
      await refillMethodOf(tx, userId, { methodId: input.paymentMethodId });
      const rule = await tx.topUpRule.findUnique({ where: { userId } });
      const claimed = await claimInTx(tx, { refillId, userId, rule, trigger: 'manual', packageCode: pkg.code, paymentMethodId: input.paymentMethodId }, new Date());
      if (claimed.status === 'capped') {
        throw new BillingError('TOP_UP_CAP_REACHED', "This month's top-up caps have no room for this purchase.", { ruleId: rule?.id ?? null, month: claimed.month });
      }
      return claimed;
    });
    await startRefill(deps, { refillId, ruleId: refill.ruleId, userId, trigger: 'manual' });
    return refill;
  });
}

/**
 * The customer says they completed the payment the bank asked them for (3-D Secure): the refill charges
 * again (the gateway answers the completed payment). Answers the refill; one not waiting is answered as is.
 */
export async function confirmTopUpAction(deps: { db: Database; temporal: Client }, userId: string, refillId: string): Promise<TopUpRefillView> {
  const refill = await getRefill(deps.db, userId, refillId);
  if (refill.outcome === 'requires_action') await deps.temporal.workflow.getHandle(refillId).signal(TOP_UP_ACTION_COMPLETED_SIGNAL);
  return refill;
}
