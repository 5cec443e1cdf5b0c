import type { Context } from '@temporalio/activity';
import type { ActivityInboundCallsInterceptor, ActivityInterceptors } from '@temporalio/worker';
import { recordCreditOperation } from '../platform/metrics';

/**
 * Counts every credit-engine step the worker runs (billing_credit_operations_total, operation = the
 * activity type: holdCredits, commitReservation, releaseReservation, expireReservation, ...). Activities
 * return business refusals as values (activities/outcome.ts), so the outcome is read from the result:
 * `{ ok: false, refusal: { code } }` is a refusal with its code; a thrown error is an error (it is retried).
 * One interceptor for every feature's activities: a new feature's activities are counted without code.
 */
export function activityMetrics(ctx: Context): ActivityInterceptors {
  const operation = ctx.info.activityType;
  const inbound: ActivityInboundCallsInterceptor = {
    async execute(input, next) {
      try {
        const result = await next(input);
        const refusal = refusalCode(result);
        recordCreditOperation(operation, refusal === undefined ? 'ok' : 'refused', refusal);
        return result;
      } catch (error) {
        recordCreditOperation(operation, 'error');
        throw error;
      }
    },
  };
  return { inbound };
}

function refusalCode(result: unknown): string | undefined {
  if (typeof result !== 'object' || result === null || (result as { ok?: unknown }).ok !== false) return undefined;
  const code = (result as { refusal?: { code?: unknown } }).refusal?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}
