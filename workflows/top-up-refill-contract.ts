/**
 * The refill workflow's contract (workflow type `topUpRefillWorkflow`, id `top-up-<ruleId>-<trigger id>`):
 * its input, its answer, and the activities it calls. Type-only, so workflow code and activities share it.
 */

export interface TopUpRefillInput {
  /** The workflow id: `top-up-<ruleId>-<trigger id>` (modules/topups/rules/caps.ts). */
  refillId: string;
  ruleId: string;
  userId: string;
}

/** What one off-session charge attempt answered. `requires_action`: the bank wants the customer present. */
export type ChargeResult = 'approved' | 'declined' | 'requires_action';

export interface TopUpRefillResult {
  /** completed: bought and provisioned; capped: the month's caps were reached; skipped: the rule is paused; failed: every charge attempt was refused. */
  outcome: 'completed' | 'capped' | 'skipped' | 'failed';
  /** Each charge attempt, in workflow time (ISO 8601). */
  attempts: Array<{ at: string; result: ChargeResult }>;
}

export interface TopUpRefillActivities {
  /** Claims a slot of the rule's monthly caps (modules/topups claimRefill); `paused` when the rule is paused. */
  claimTopUpSlot(input: { refillId: string; ruleId: string; at: string }): Promise<'claimed' | 'capped' | 'released' | 'paused'>;
  /** Places the refill's order through the order workflow's public functions; idempotent by refill id. */
  placeTopUpOrder(input: { refillId: string }): Promise<{ orderId: string }>;
  /** One off-session charge with the rule's saved method; the key makes a retried activity the same charge. */
  chargeTopUpOffSession(input: { refillId: string; orderId: string; idempotencyKey: string }): Promise<ChargeResult>;
  /** Grants the order's credits exactly once (the order's provisioning). */
  provisionTopUp(input: { refillId: string; orderId: string }): Promise<void>;
  /** Gives the refill's slot back, pauses the rule (`payment_declined`) and records `top_up.failed`. */
  failTopUp(input: { refillId: string; ruleId: string; userId: string; orderId: string }): Promise<void>;
}
