import { ActivityFailure, ApplicationFailure, condition, defineSignal, patched, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import { TOP_UP_ACTION_COMPLETED_SIGNAL, type ChargeResult, type TopUpRefillActivities, type TopUpRefillInput, type TopUpRefillResult } from './top-up-refill-contract';

/** After a refused charge, the next attempt waits this long (durable timers): 1 hour, 1 day, 3 days. */
export const DUNNING_SCHEDULE_MS = [60 * 60 * 1000, 24 * 60 * 60 * 1000, 3 * 24 * 60 * 60 * 1000] as const;

/** How long a refill waits for the customer to complete a payment the bank wants them present for. */
export const ACTION_TIMEOUT_MS = 24 * 60 * 60 * 1000;

export const topUpActionCompleted = defineSignal(TOP_UP_ACTION_COMPLETED_SIGNAL);

/**
 * Runs started since this patch end cleanly and ask the customer when the bank wants them:
 * - a refusal of the order or the charge (no usable saved method, the package gone) fails the refill
 *   through failTopUp (slot released, rule paused, user notified) instead of failing the run with its
 *   slot still claimed;
 * - a `requires_action` answer waits (up to ACTION_TIMEOUT_MS) for the customer to complete the payment
 *   at the link and confirm, then charges again with the same key (the gateway answers the completed
 *   payment); not completed in time, the refill fails (`action_abandoned`).
 * Runs started before it replay their old steps: a `requires_action` answer dunned like a decline
 * (tests/workflows/top-up-refill-histories.test.ts).
 */
const REFILL_SETTLES_PATCH = 'top-up-refill-settles';

const steps = proxyActivities<TopUpRefillActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** The stable code of a business refusal (a non-retryable activity failure), or undefined for anything else. */
function refusalOf(error: unknown): string | undefined {
  if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.nonRetryable) return error.cause.type ?? 'REFUSED';
  return undefined;
}

/**
 * One refill of a top-up rule (or a manual top-up), started when the balance crossed the rule's
 * threshold, by the rule's interval Schedule, or by the user. Claims a slot of the rule's monthly caps,
 * places the order, charges the saved method off-session, provisions once. A refused charge is tried
 * again on the dunning schedule; after the last one the slot goes back, the rule is paused and
 * `top_up.failed` is recorded.
 */
export async function topUpRefillWorkflow(input: TopUpRefillInput): Promise<TopUpRefillResult> {
  const settles = patched(REFILL_SETTLES_PATCH);
  return settles ? settlingRefill(input) : dunningOnlyRefill(input);
}

/** The refill as runs started before REFILL_SETTLES_PATCH took it (kept so their histories replay). */
async function dunningOnlyRefill(input: TopUpRefillInput): Promise<TopUpRefillResult> {
  const attempts: TopUpRefillResult['attempts'] = [];
  const claim = await steps.claimTopUpSlot({ refillId: input.refillId, ruleId: input.ruleId, at: new Date().toISOString() });
  if (claim === 'paused') return { outcome: 'skipped', attempts };
  if (claim !== 'claimed') return { outcome: 'capped', attempts };

  const { orderId } = await steps.placeTopUpOrder({ refillId: input.refillId });
  for (let attempt = 0; ; attempt += 1) {
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

async function settlingRefill(input: TopUpRefillInput): Promise<TopUpRefillResult> {
  const attempts: TopUpRefillResult['attempts'] = [];
  let actionCompleted = false;
  setHandler(topUpActionCompleted, () => {
    actionCompleted = true;
  });
  const giveUp = async (orderId: string | null, reason: string): Promise<TopUpRefillResult> => {
    await steps.failTopUp({ refillId: input.refillId, ruleId: input.ruleId, userId: input.userId, orderId, reason });
    return { outcome: 'failed', attempts, reason };
  };

  const claim = await steps.claimTopUpSlot({ refillId: input.refillId, ruleId: input.ruleId, at: new Date().toISOString() });
  if (claim === 'paused') return { outcome: 'skipped', attempts };
  if (claim !== 'claimed') return { outcome: 'capped', attempts };

  let orderId: string;
  try {
    ({ orderId } = await steps.placeTopUpOrder({ refillId: input.refillId }));
  } catch (error) {
    const refusal = refusalOf(error);
    if (refusal === undefined) throw error;
    return giveUp(null, refusal);
  }

  for (let attempt = 0; ; attempt += 1) {
    // One key per attempt, derived from the refill: an activity retried within an attempt, or the charge
    // again after the customer completed the payment, is the same charge at the provider; the next
    // attempt after a refusal is a new one.
    const idempotencyKey = `${input.refillId}:charge:${attempt}`;
    let answer: Awaited<ReturnType<TopUpRefillActivities['chargeTopUp']>>;
    try {
      answer = await steps.chargeTopUp({ refillId: input.refillId, orderId, idempotencyKey });
      const deadline = Date.now() + ACTION_TIMEOUT_MS;
      while (answer.result === 'requires_action') {
        attempts.push({ at: new Date().toISOString(), result: answer.result });
        await steps.noteTopUpActionRequired({ refillId: input.refillId, actionUrl: answer.actionUrl ?? '' });
        actionCompleted = false;
        if (!(await condition(() => actionCompleted, Math.max(deadline - Date.now(), 1)))) return giveUp(orderId, 'action_abandoned');
        answer = await steps.chargeTopUp({ refillId: input.refillId, orderId, idempotencyKey });
      }
    } catch (error) {
      const refusal = refusalOf(error);
      if (refusal === undefined) throw error;
      return giveUp(orderId, refusal);
    }
    attempts.push({ at: new Date().toISOString(), result: answer.result });
    if (answer.result === 'approved') {
      await steps.provisionTopUp({ refillId: input.refillId, orderId });
      return { outcome: 'completed', attempts };
    }
    const wait = DUNNING_SCHEDULE_MS[attempt];
    if (wait === undefined) break;
    await sleep(wait);
  }
  return giveUp(orderId, 'payment_declined');
}
