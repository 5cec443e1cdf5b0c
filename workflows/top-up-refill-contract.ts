/**
 * The refill workflow's contract (workflow type `topUpRefillWorkflow`, id `top-up-<ruleId>-<trigger id>`):
 * its input, its answer, its signal and the activities it calls. Type-only (and one name), so workflow
 * code, activities and the API share it.
 */

export type TopUpTrigger = 'threshold' | 'manual' | 'interval';

export interface TopUpRefillInput {
  /** The workflow id: `top-up-<ruleId>-<trigger id>` (modules/topups/rules/caps.ts). */
  refillId: string;
  /** The rule whose caps it counts against; null for a manual top-up of a user without a rule. */
  ruleId: string | null;
  userId: string;
  /** What started it; absent in runs started before manual and interval top-ups: `threshold`. */
  trigger?: TopUpTrigger;
}

/** What one off-session charge attempt answered. `requires_action`: the bank wants the customer present. */
export type ChargeResult = 'approved' | 'declined' | 'requires_action';

export interface TopUpRefillResult {
  /** completed: bought and provisioned; capped: the month's caps were reached; skipped: the rule is paused; failed: given up (see `reason`). */
  outcome: 'completed' | 'capped' | 'skipped' | 'failed';
  /** Each charge attempt, in workflow time (ISO 8601). */
  attempts: Array<{ at: string; result: ChargeResult }>;
  /** Why a failed refill gave up: payment_declined, action_abandoned, or the refusal's code (e.g. PAYMENT_METHOD_REQUIRED). */
  reason?: string;
}

/** The signal the API sends when the customer says they completed the payment the bank asked them for. */
export const TOP_UP_ACTION_COMPLETED_SIGNAL = 'topUpActionCompleted';

export interface TopUpRefillActivities {
  /** Claims a slot of the rule's monthly caps (modules/topups claimRefill); `paused` when the rule is paused. */
  claimTopUpSlot(input: { refillId: string; ruleId: string | null; at: string }): Promise<'claimed' | 'capped' | 'released' | 'paused'>;
  /** Places the refill's order through the order workflow's public functions; idempotent by refill id. */
  placeTopUpOrder(input: { refillId: string }): Promise<{ orderId: string }>;
  /** One off-session charge with the rule's saved method; the key makes a retried activity the same charge. */
  chargeTopUpOffSession(input: { refillId: string; orderId: string; idempotencyKey: string }): Promise<ChargeResult>;
  /** The same charge, answering the link the customer must open when the bank wants them present. */
  chargeTopUp(input: { refillId: string; orderId: string; idempotencyKey: string }): Promise<{ result: ChargeResult; actionUrl?: string }>;
  /** Marks the refill `requires_action` with its link and records `top_up.requires_action` (the user is notified). */
  noteTopUpActionRequired(input: { refillId: string; actionUrl: string }): Promise<void>;
  /** Grants the order's credits exactly once (the order's provisioning), and marks the refill succeeded. */
  provisionTopUp(input: { refillId: string; orderId: string }): Promise<void>;
  /** Gives the refill's slot back, pauses the rule (with the reason; default `payment_declined`) and records `top_up.failed`. */
  failTopUp(input: { refillId: string; ruleId: string | null; userId: string; orderId: string | null; reason?: string }): Promise<void>;
}
