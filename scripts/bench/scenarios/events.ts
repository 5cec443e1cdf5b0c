/**
 * Events delivered to a local HTTP receiver answering 200 (target 10): each operation is a deduct through the
 * API (its transaction records `credits.deducted`) followed by the wait for that event's webhook to reach the
 * receiver (the worker's relay hands it to a delivery workflow, whose activity signs and POSTs it), so the
 * rate is events delivered per second and the part `commitToDelivery` the delay from the business change's
 * commit (the deduct's answer: it is sent after the commit) to delivery. Against a bare workflow with one
 * HTTP activity POSTing to the same receiver, from as many clients. Target: ratio >= 0.6.
 *
 * The endpoint is stored as the admin API would store it (secret encrypted with the worker's
 * WEBHOOK_SECRETS_KEY): the API itself refuses plain-http endpoints in production, and the receiver is
 * plain http on loopback. It is disabled again at the end, so later scenarios' deducts deliver nothing.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { encryptSecret, generateSecret } from '../../../modules/events/secrets';
import { startBaselineWorker } from '../baseline/start';
import type { benchHttpWorkflow } from '../baseline/workflows';
import { cpuLine, type Bench } from '../context';
import type { LoadOp } from '../load';
import { startReceiver } from '../receiver';
import { fmt, loadRow, log, printTable, reportErrors, round, write } from '../report';
import type { Scenario } from '../scenario';
import { ACTION_KEY } from '../stack';

const EVENT_CLIENTS = 16;
const BASELINE_TASK_QUEUE = 'bench-baseline-events';
/** Target 10. */
const EVENTS_RATIO_GOAL = 0.6;

/** The receiver's key of a body: the consumption of a credits.deducted webhook, or the baseline's own key. */
function keyOf(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { type?: string; data?: { consumptionId?: string }; key?: string };
    if (body.type === 'credits.deducted') return body.data?.consumptionId;
    return body.key;
  } catch {
    return undefined;
  }
}

async function run(bench: Bench): Promise<void> {
  const { stack, settings, api } = bench;
  const seconds = settings.measureSeconds;
  const receiver = await startReceiver(keyOf);
  const endpointId = randomUUID();
  try {
    await stack.admin.query(
      `INSERT INTO webhook_endpoints (id, url, description, event_types, enabled, secret_ciphertext, updated_at)
       VALUES ($1, $2, 'bench receiver', ARRAY['credits.deducted'], true, $3, now())`,
      [endpointId, `${receiver.url}/webhooks`, encryptSecret(generateSecret(), stack.webhookSecretsKey)],
    );

    const deductThenDelivery: LoadOp = async () => {
      const t0 = performance.now();
      const answer = await api.post('/v1/internal/credits/deduct', { userId: stack.randomUser(), actionKey: ACTION_KEY, quantity: 1 });
      if (answer.status !== 201) throw new Error(`deduct: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
      const committed = performance.now();
      const delivered = await receiver.arrival(answer.body.id as string);
      return { deduct: committed - t0, commitToDelivery: delivered - committed };
    };
    await deductThenDelivery(0); // smoke test: relay, delivery workflow and receiver are wired up

    log(`events baseline: bare workflow with one HTTP activity POSTing to the receiver, ${EVENT_CLIENTS} clients`);
    const baselineWorker = await startBaselineWorker(bench, BASELINE_TASK_QUEUE);
    const bareDelivery: LoadOp = async () => {
      const key = randomUUID();
      const t0 = performance.now();
      await stack.client.workflow.start<typeof benchHttpWorkflow>('benchHttpWorkflow', {
        taskQueue: BASELINE_TASK_QUEUE,
        workflowId: `bench-http-${key}`,
        args: [`${receiver.url}/baseline`, JSON.stringify({ key })],
      });
      const delivered = await receiver.arrival(key);
      return { commitToDelivery: delivered - t0 };
    };
    const baseline = await bench.measure('events baseline', EVENT_CLIENTS, seconds, bareDelivery);
    await baselineWorker.stop();

    log(`events api: deduct through the API, wait for its credits.deducted webhook at the receiver, ${EVENT_CLIENTS} clients`);
    await stack.settleDatabase();
    api.freshConnections();
    const events = await bench.measure('api events', EVENT_CLIENTS, seconds, deductThenDelivery);

    const ratio = events.perSecond / baseline.perSecond;
    const delay = events.parts.commitToDelivery;
    const bareDelay = baseline.parts.commitToDelivery;
    write(`\nEvents delivered to a local receiver answering 200 — ${seconds} s measured after ${settings.warmupSeconds} s warm-up, ${EVENT_CLIENTS} clients\n`);
    printTable(
      ['', 'clients', 'delivered/s', 'p50 ms', 'p99 ms', 'ok', 'errors', 'commit->delivery p50', 'p99'],
      [
        loadRow('baseline: workflow start -> one HTTP activity', baseline, [fmt(bareDelay?.p50, 1), fmt(bareDelay?.p99, 1)]),
        loadRow('api: deduct -> relay -> delivery workflow', events, [fmt(delay?.p50, 1), fmt(delay?.p99, 1)]),
      ],
    );
    reportErrors('baseline deliveries', baseline);
    reportErrors('api events', events);
    write(
      `  ratio api/baseline: ${ratio.toFixed(3)}; deduct p50 ${fmt(events.parts.deduct?.p50, 1)} / p99 ${fmt(events.parts.deduct?.p99, 1)} ms; receiver got ${receiver.received.requests} POSTs\n` +
        `  CPU ms per event — baseline: ${cpuLine(baseline)}\n` +
        `  CPU ms per event — api:      ${cpuLine(events)}\n`,
    );
    bench.target({
      number: 10,
      name: 'events-delivered',
      value: ratio,
      comparison: '>=',
      goal: EVENTS_RATIO_GOAL,
      meaning: `events delivered ${fmt(events.perSecond)}/s (commit->delivery p50 ${fmt(delay?.p50, 1)} / p99 ${fmt(delay?.p99, 1)} ms) over the bare HTTP workflow's ${fmt(baseline.perSecond)}/s`,
    });
    write('\n');
    bench.summary(
      `events/s         api ${fmt(events.perSecond)} (commit->delivery p50 ${fmt(delay?.p50, 1)} / p99 ${fmt(delay?.p99, 1)} ms)  ` +
        `baseline ${fmt(baseline.perSecond)} (p99 ${fmt(bareDelay?.p99, 1)} ms)  ratio ${ratio.toFixed(3)}`,
    );
    bench.results.events = { baseline, api: events, ratio: round(ratio, 4), receivedPosts: receiver.received.requests };
  } finally {
    await stack.admin.query('UPDATE webhook_endpoints SET enabled = false, updated_at = now() WHERE id = $1', [endpointId]);
    await receiver.close();
  }
}

export const scenario: Scenario = {
  name: 'events',
  order: 40,
  description: 'events delivered to a local receiver (deduct -> relay -> delivery workflow) vs a bare workflow with one HTTP activity (target 10)',
  run,
};
