/**
 * The interval launcher's contract (workflow type `topUpIntervalWorkflow`): what a top-up rule's Schedule
 * starts on the rule's day each month. Type-only, so the workflow, its activity and modules/topups share it.
 */

export interface TopUpIntervalInput {
  ruleId: string;
  userId: string;
}

export interface TopUpIntervalResult {
  /** The month's refill (`top-up-<ruleId>-<YYYY-MM>`) it started or found; null when the rule is gone, paused or not an interval rule. */
  refillId: string | null;
}

export interface TopUpIntervalActivities {
  /**
   * Claims the month's refill under the rule's caps (trigger `interval`) and starts its workflow, once per
   * rule and month: `at` (the run's scheduled time) names the month.
   */
  startIntervalRefill(input: { ruleId: string; at: string }): Promise<string | null>;
}
