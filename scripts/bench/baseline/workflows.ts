/**
 * Baseline workflows of `npm run bench`: the least work a Temporal workflow can do for each scenario's
 * shape, run by the baseline worker (./worker.ts, which defines the activities: activities never live in
 * the workflow bundle).
 * - benchWorkflow (lifecycle): one no-op activity.
 * - benchOrderWorkflow (orders): the order workflow's activity count around a payment signal.
 * - benchTimerWorkflow (expiry): one timer to a given instant, then one no-op activity.
 * - benchHttpWorkflow (events): one activity that POSTs a body and expects 200.
 */
import { condition, defineSignal, defineUpdate, proxyActivities, setHandler, sleep } from '@temporalio/workflow';

export interface BenchActivities {
  noop(): Promise<void>;
  /** POSTs `body` (JSON) to `url`; throws unless the answer is 2xx. */
  postJson(url: string, body: string): Promise<void>;
}

// Same activity options as the reservation workflow, so the baseline pays the same scheduling costs.
const { noop, postJson } = proxyActivities<BenchActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

export async function benchWorkflow(): Promise<void> {
  await noop();
}

export const benchPaidSignal = defineSignal('paid');
/** Answers once the activities before the payment are done (the order's payment session). */
export const benchSessionUpdate = defineUpdate<void>('session');

/**
 * The order workflow's shape without its work: `before` activities (load the order, open the payment
 * session), a wait for the payment signal, then `after` activities (record the payment, subscribe,
 * grant, start the timers, complete).
 */
export async function benchOrderWorkflow(before: number, after: number): Promise<void> {
  let paid = false;
  let sessionOpen = false;
  setHandler(benchPaidSignal, () => void (paid = true));
  setHandler(benchSessionUpdate, () => condition(() => sessionOpen));
  for (let index = 0; index < before; index++) await noop();
  sessionOpen = true;
  await condition(() => paid);
  for (let index = 0; index < after; index++) await noop();
}

/** A durable timer to `atEpochMs`, then one activity (the package timer's expire step, without its transaction). */
export async function benchTimerWorkflow(atEpochMs: number): Promise<void> {
  await sleep(Math.max(0, atEpochMs - Date.now()));
  await noop();
}

/** One HTTP activity: the delivery workflow's POST without signing, recording or retry bookkeeping. */
export async function benchHttpWorkflow(url: string, body: string): Promise<void> {
  await postJson(url, body);
}
