/**
 * Monthly caps of a top-up rule, pure and workflow-safe. A rule counts refills per calendar month in UTC,
 * so "this month" is the same for every worker and every time zone.
 */

/** The calendar month (UTC) an instant counts against, `YYYY-MM`. */
export function monthOf(at: Date): string {
  return at.toISOString().slice(0, 7);
}

/** The refill workflow's id: one per rule and balance crossing, so a burst of deducts crossing the line starts one refill. */
export function refillWorkflowId(ruleId: string, triggerId: string): string {
  return `top-up-${ruleId}-${triggerId}`;
}
