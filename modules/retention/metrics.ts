/**
 * The retention job's series (docs/operations.md → Metrics, Retention), exported by the worker that runs it.
 * Every series exists from the start at 0, so increase() sees the first prune and an alert on held months works at once.
 */
import { Gauge } from 'prom-client';
import { metricsRegistry, outcomeCounter } from '../../platform/metrics';

const removed = outcomeCounter(
  'billing_retention_removed_total',
  'What the retention job removed: idempotency_keys (records), event_partitions (months of events with their deliveries, attempts and notices).',
  ['what'] as const,
);
for (const what of ['idempotency_keys', 'event_partitions']) removed.inc({ what }, 0);

const heldMonths = new Gauge({
  name: 'billing_retention_held_partitions',
  help: 'Months of events past the retention age kept by the last run because a row in them is still needed (unrelayed events, pending deliveries, dead letters, pending mails).',
  registers: [metricsRegistry],
});

export function countPrunedKeys(count: number): void {
  removed.inc({ what: 'idempotency_keys' }, count);
}

export function countPartitionRun(dropped: number, held: number): void {
  removed.inc({ what: 'event_partitions' }, dropped);
  heldMonths.set(held);
}
