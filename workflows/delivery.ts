import { proxyActivities, sleep, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { nextRetryDelayMs } from '../modules/events/rules/webhook-retries';
import type { EventActivities } from '../activities/events';
import type { DeliveryInput, DeliveryResult } from './delivery-contract';
import { DeliveryStatusKey } from './search-attributes';

/**
 * One attempt is one POST with its own time limit (WEBHOOK_TIMEOUT_MS inside the activity). Activity
 * retries cover only our own failures (database down, worker crash); the receiver's failures are
 * answered by the retry schedule below, on durable timers, so a receiver may be down for a day.
 */
const http = proxyActivities<EventActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * Delivers one event to one endpoint: attempts at the schedule's delays (Svix's by default: immediately,
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), later if the receiver sends Retry-After; ends delivered or
 * failed (dead letter, replayable by an admin). History stays small: at most ~2 events per attempt.
 */
/**
 * Keeps DeliveryStatus current on runs started with it (the relay and replays set it at start); a run
 * started without it (a server without the attribute, e.g. the time-skipping test server) skips it.
 */
function setStatus(status: 'retrying' | 'delivered' | 'failed'): void {
  if (workflowInfo().typedSearchAttributes.get(DeliveryStatusKey) === undefined) return;
  upsertSearchAttributes([{ key: DeliveryStatusKey, value: status }]);
}

export async function deliveryWorkflow(input: DeliveryInput): Promise<DeliveryResult> {
  let retryAfterMs: number | null = null;
  for (let attempt = 0; ; attempt++) {
    const delay = nextRetryDelayMs(input.retryScheduleMs, attempt, retryAfterMs);
    if (delay === null) break;
    if (delay > 0) await sleep(delay);
    const result = await http.attemptDelivery({
      eventId: input.eventId,
      endpointId: input.endpointId,
      attempt,
      scheduledAtMs: Date.now(),
      retryScheduleMs: input.retryScheduleMs,
    });
    if (result.outcome === 'delivered') {
      setStatus('delivered');
      return { status: 'delivered', attempts: attempt + 1 };
    }
    if (result.outcome === 'stop') {
      setStatus('failed');
      return { status: 'failed', attempts: attempt + 1 };
    }
    retryAfterMs = result.retryAfterMs;
    if (attempt === 0) setStatus('retrying');
  }
  // Unreachable in practice (the activity says `stop` on the last attempt); kept so the loop is total.
  setStatus('failed');
  return { status: 'failed', attempts: input.retryScheduleMs.length };
}
