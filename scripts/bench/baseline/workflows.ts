/**
 * Baseline workflow of `npm run bench -- lifecycle` (scripts/bench/scenarios/lifecycle.ts): the least work a
 * Temporal lifecycle can do — one workflow that runs one no-op activity and completes. The baseline worker
 * (./worker.ts) bundles this file; the activity itself is defined there (activities never live in the
 * workflow bundle).
 */
import { proxyActivities } from '@temporalio/workflow';

export interface BenchActivities {
  noop(): Promise<void>;
}

// Same activity options as the reservation workflow, so the baseline pays the same scheduling costs.
const { noop } = proxyActivities<BenchActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

export async function benchWorkflow(): Promise<void> {
  await noop();
}
