/**
 * When a refill starts, and with which id. The outbox relay asks after each relayed spend event
 * (`credits.deducted`, `reservation.*`, `balance.low`): the deduct's SQL records `balance.low` only for the
 * global threshold, so the per-rule threshold is checked here, after the fact, from the committed balance.
 *
 * One refill per crossing: the trigger id is the user's newest grant. Every spend between two grants
 * (a burst of concurrent deducts) computes the same refill id, and the start dedups on it (USE_EXISTING
 * while running, REJECT_DUPLICATE once closed). The refill's credits are a new grant, so the next fall
 * below the threshold is a new crossing with a new id. A capped or failed refill is not tried again
 * until credits are added some other way (or the month turns and a new grant arrives).
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { BillingError } from '../../platform/errors';
import type { Database, Tx } from '../../platform/database';
import { availableCredits, latestGrantId } from '../credits';
import type { TopUpRefillInput } from '../../workflows/top-up-refill-contract';
import type { topUpRefillWorkflow } from '../../workflows/top-up-refill';
import { TopUpRuleIdKey, UserIdKey } from '../../workflows/search-attributes';
import { getChannel, savedMethodCalls, type OffSessionAnswer, type PaymentsDeps } from '../payments';
import { refillMethodOf } from './payment-methods';
import { refillWorkflowId } from './rules/caps';

/** The relayed event types after which a rule's threshold may have been crossed. */
export function mayCrossThreshold(eventType: string): boolean {
  return eventType === 'credits.deducted' || eventType === 'balance.low' || eventType.startsWith('reservation.');
}

/** The refill the user's balance calls for now, if any: an active rule whose threshold is above what is available. */
export async function refillDue(db: Database, userId: string): Promise<TopUpRefillInput | undefined> {
  const rule = await db.topUpRule.findUnique({ where: { userId } });
  // An interval rule refills on its Schedule (interval-schedules.ts), never on a crossing.
  if (!rule || rule.status !== 'active' || rule.kind !== 'threshold' || rule.thresholdCredits === null) return undefined;
  if ((await availableCredits(db, userId)) >= rule.thresholdCredits) return undefined;
  const crossing = (await latestGrantId(db, userId)) ?? 'first';
  return { refillId: refillWorkflowId(rule.id, crossing), ruleId: rule.id, userId, trigger: 'threshold' };
}

export interface RefillStartDeps {
  db: Database;
  temporal: Client;
  taskQueue: string;
}

/** Starts the refill a relayed event calls for (idempotent: a second start of the same crossing is a no-op). Answers its id. */
export async function startRefillAfter(deps: RefillStartDeps, event: { type: string; userId: string | null }): Promise<string | undefined> {
  if (!event.userId || !mayCrossThreshold(event.type)) return undefined;
  const input = await refillDue(deps.db, event.userId);
  if (!input) return undefined;
  await startRefill(deps, input);
  return input.refillId;
}

/**
 * Starts a refill run once per id (USE_EXISTING while it runs, REJECT_DUPLICATE once closed), findable
 * in the Temporal UI by `UserId` and `TopUpRuleId`.
 */
export async function startRefill(deps: RefillStartDeps, input: TopUpRefillInput): Promise<void> {
  try {
    await deps.temporal.workflow.start<typeof topUpRefillWorkflow>('topUpRefillWorkflow', {
      taskQueue: deps.taskQueue,
      workflowId: input.refillId,
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: UserIdKey, value: input.userId },
        ...(input.ruleId ? [{ key: TopUpRuleIdKey, value: [input.ruleId] }] : []),
      ],
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}

/** What a refill's order is: the rule's package and currency, on the channel of the saved method the refill charges. */
export async function refillOrderRequest(db: Database, refillId: string): Promise<{ userId: string; packageCode: string; currency: string; channel: string }> {
  const refill = await db.topUpRefill.findUnique({ where: { id: refillId } });
  if (!refill) throw new BillingError('NOT_FOUND', 'Top-up refill not found.', { refillId });
  const packageCode = refill.packageCode ?? (await db.topUpRule.findUniqueOrThrow({ where: { id: refill.ruleId! } })).packageCode;
  const method = await refillMethodOf(db, refill.userId, { methodId: refill.paymentMethodId });
  return { userId: refill.userId, packageCode, currency: refill.currency, channel: method.channelCode };
}

/**
 * One off-session charge of a refill's order with the saved method on the order's channel, through the
 * channel's provider (the gateway's token, or a Stripe PaymentIntent on the user's Customer): the
 * refill does not know which. `idempotencyKey` makes a repeat the same charge at the provider.
 */
export async function chargeRefillOrder(
  db: Database,
  payments: PaymentsDeps,
  order: { id: string; userId: string; channelCode: string; amountMinor: number; currency: string },
  idempotencyKey: string,
  /** The saved method the refill names (a manual top-up's choice); default the user's newest on the channel. */
  methodId?: string | null,
): Promise<OffSessionAnswer> {
  const method = await refillMethodOf(db, order.userId, { channelCode: order.channelCode, methodId });
  const channel = await getChannel(db, order.channelCode);
  const customer = await db.stripeCustomer.findUnique({ where: { userId: order.userId } });
  return savedMethodCalls(channel).charge(payments, channel, {
    methodRef: method.externalRef,
    customerRef: customer?.customerRef ?? null,
    orderId: order.id,
    amountMinor: order.amountMinor,
    currency: order.currency,
    idempotencyKey,
  });
}
