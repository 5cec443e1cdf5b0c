/**
 * The events feature's series (docs/operations.md → Metrics): webhook attempts by outcome, and the
 * committed facts the relay hands over, counted by type and by the credits they carry. Counting at the
 * relay counts each event once, after its transaction committed, whichever process wrote it.
 */
import type { Event } from '../../generated/prisma/client';
import { outcomeCounter } from '../../platform/metrics';
import type { AttemptResult } from '../../workflows/delivery-contract';

const webhookDeliveries = outcomeCounter(
  'billing_webhook_deliveries_total',
  'Webhook attempts by outcome: delivered (2xx); retry (failed, another attempt is scheduled); failed (the delivery is now a dead letter: retries exhausted, or its endpoint gone or disabled); error (the attempt could not be recorded, Temporal retries it).',
  ['outcome'] as const,
);

const eventsRelayed = outcomeCounter('billing_events_relayed_total', 'Committed events the relay handed to Temporal, by type.', ['type'] as const);

const eventCredits = outcomeCounter(
  'billing_event_credits_total',
  'Credits carried by relayed events, by type: credits.granted (granted), credits.deducted and reservation.committed (consumed), reservation.refunded (refunded).',
  ['type'] as const,
);

const OUTCOME_LABEL: Record<AttemptResult['outcome'], string> = { delivered: 'delivered', retry: 'retry', stop: 'failed' };
// Every outcome exported from the start at 0: Prometheus' increase() cannot see the first dead letter of
// a series that is born at 1.
for (const outcome of [...Object.values(OUTCOME_LABEL), 'error']) webhookDeliveries.inc({ outcome }, 0);
// The top-up outcomes BillingTopUpsFailing compares, exported from the start for the same reason.
for (const type of ['top_up.failed', 'top_up.succeeded']) eventsRelayed.inc({ type }, 0);

/** Runs one webhook attempt and counts how it ended. */
export async function countDeliveryAttempt(attempt: () => Promise<AttemptResult>): Promise<AttemptResult> {
  try {
    const result = await attempt();
    webhookDeliveries.inc({ outcome: OUTCOME_LABEL[result.outcome] });
    return result;
  } catch (error) {
    webhookDeliveries.inc({ outcome: 'error' });
    throw error;
  }
}

/** Counts the events one relay pass marked relayed (only those: a concurrent relay counts its own). */
export function countRelayed(events: ReadonlyArray<Pick<Event, 'type' | 'payload'>>): void {
  for (const event of events) {
    eventsRelayed.inc({ type: event.type });
    const credits = (event.payload as { credits?: unknown } | null)?.credits;
    if (typeof credits === 'number' && credits > 0) eventCredits.inc({ type: event.type }, credits);
  }
}
