import { proxyActivities, sleep } from '@temporalio/workflow';
import type { ChargeResult, TopUpRefillActivities, TopUpRefillInput, TopUpRefillResult } from './top-up-refill-contract';

/** After a refused charge, the next attempt waits this long (durable timers): 1 hour, 1 day, 3 days. */
export const DUNNING_SCHEDULE_MS = [60 * 60 * 1000, 24 * 60 * 60 * 1000, 3 * 24 * 60 * 60 * 1000] as const;

const steps = proxyActivities<TopUpRefillActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/**
 * One refill of a top-up rule, started when the balance crossed its threshold. Claims a slot of the
 * rule's monthly caps, places the order, charges the saved method off-session, provisions once. A refused
 * charge is tried again on the dunning schedule; after the last one the slot goes back, the rule is
 * paused and `top_up.failed` is recorded.
 */
export async function topUpRefillWorkflow(input: TopUpRefillInput): Promise<TopUpRefillResult> {
  const attempts: TopUpRefillResult['attempts'] = [];
  const claim = await steps.claimTopUpSlot({ refillId: input.refillId, ruleId: input.ruleId, at: new Date().toISOString() });
  if (claim === 'paused') return { outcome: 'skipped', attempts };
  if (claim !== 'claimed') return { outcome: 'capped', attempts };

  const { orderId } = await steps.placeTopUpOrder({ refillId: input.refillId });
  for (let attempt = 0; ; attempt += 1) {
    // One key per attempt, derived from the refill: an activity retried within an attempt is the same
    // charge at the provider; the next attempt after a refusal is a new one.
    const result: ChargeResult = await steps.chargeTopUpOffSession({ refillId: input.refillId, orderId, idempotencyKey: `${input.refillId}:charge:${attempt}` });
    attempts.push({ at: new Date().toISOString(), result });
    if (result === 'approved') {
      await steps.provisionTopUp({ refillId: input.refillId, orderId });
      return { outcome: 'completed', attempts };
    }
    const wait = DUNNING_SCHEDULE_MS[attempt];
    if (wait === undefined) break;
    await sleep(wait);
  }
  await steps.failTopUp({ refillId: input.refillId, ruleId: input.ruleId, userId: input.userId, orderId });
  return { outcome: 'failed', attempts };
}
