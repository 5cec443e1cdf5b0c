/**
 * Paid orders provisioned end to end (target 8): create an order through the API with the stripe channel
 * (the API and the worker talk to stripe-mock), post the signed `checkout.session.completed` webhook as
 * Stripe would, and wait until the order's workflow has provisioned it (order `completed`, subscription
 * active) — against a bare workflow with the same activities (2 before the payment, 5 after) on the same
 * server, from the same number of clients. Targets: orders/s over bare workflows/s >= 0.6; webhook receipt
 * -> `completed` p99 <= 2x the bare workflow's payment signal -> completion p99, at 8 concurrent orders.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { temporal as proto } from '@temporalio/proto';
import Stripe from 'stripe';
import { orderWorkflowId } from '../../../workflows/order-contract';
import { checkoutCompletedEvent } from '../../pay';
import { benchPaidSignal, benchSessionUpdate, type benchOrderWorkflow } from '../baseline/workflows';
import { startBaselineWorker } from '../baseline/start';
import { cpuLine, type Bench } from '../context';
import type { LoadOp } from '../load';
import { fmt, loadRow, log, printTable, reportErrors, round, write } from '../report';
import type { Scenario } from '../scenario';
import { countStatements, describeStatements } from '../statements';

const ORDER_CLIENTS = 8;
/** Measured window at least this long (s), whatever --seconds says. */
const MIN_WINDOW_SECONDS = 10;
const BASELINE_TASK_QUEUE = 'bench-baseline-orders';
/** The order workflow's activities on the paid path: load_order, create_payment | record_payment, subscribe, grant_credits, track_lifecycle, complete. */
const ACTIVITIES_BEFORE_PAYMENT = 2;
const ACTIVITIES_AFTER_PAYMENT = 5;
const PACKAGE_CODE = 'monthly_membership'; // seeded: a subscription with credits, USD 9.99
/** Target 8's two lines. */
const ORDERS_RATIO_GOAL = 0.6;
const WEBHOOK_P99_OVER_BASELINE_P99_GOAL = 2;

/** create -> signed webhook -> provisioned; parts: create, webhook (the POST itself), webhookToCompleted. */
export function paidOrderOp(bench: Bench, onOrder?: (orderId: string) => void): LoadOp {
  const { stack, api } = bench;
  const stripe = new Stripe('sk_test_unused');
  return async () => {
    const t0 = performance.now();
    // A new user each time: one subscription per user and package (ALREADY_OWNED otherwise).
    const created = await api.post('/v1/internal/orders', { userId: `bench-order-${randomUUID()}`, packageCode: PACKAGE_CODE, channel: 'stripe' });
    if (created.status !== 201) throw new Error(`create order: HTTP ${created.status} ${created.text.slice(0, 200)}`);
    const order = created.body as { id: string; amountMinor: number; currency: string; status: string };
    if (order.status !== 'pending_payment') throw new Error(`create order: status ${order.status}`);
    const payload = JSON.stringify(checkoutCompletedEvent(order.id, order.amountMinor, order.currency));
    const signature = stripe.webhooks.generateTestHeaderString({ payload, secret: stack.stripeWebhookSecret });
    const t1 = performance.now();
    const hook = await api.postRaw('/v1/webhooks/stripe', payload, { 'stripe-signature': signature });
    if (hook.status !== 200) throw new Error(`webhook: HTTP ${hook.status} ${hook.text.slice(0, 200)}`);
    const t2 = performance.now();
    // The order workflow ends once the order is provisioned (or failed): its result is the moment it is done.
    await stack.client.workflow.getHandle(orderWorkflowId(order.id)).result();
    const t3 = performance.now();
    const { rows } = await stack.admin.query<{ status: string }>('SELECT status::text FROM orders WHERE id = $1', [order.id]);
    if (rows[0]?.status !== 'completed') throw new Error(`order ${order.id} ended ${rows[0]?.status ?? 'missing'}, not completed`);
    onOrder?.(order.id);
    return { create: t1 - t0, webhook: t2 - t1, webhookToCompleted: t3 - t1 };
  };
}

/** How long the follow-up work of one order (relay, notifications, lifecycle timers' first steps) gets to run in the diagnostic. */
const FOLLOW_UP_MS = 3000;

interface OrderCost {
  statements: string;
  /** Workflow runs started by one order and its follow-ups, by workflow type. */
  workflowsByType: Record<string, number>;
  /** The order run's history: events by type. */
  orderHistory: Record<string, number>;
  /** Statements grouped by their text, most frequent first (for the results file). */
  statementList: Array<[string, number]>;
}

/**
 * What one paid order costs the server side: SQL statements (API and worker, the follow-ups included),
 * the workflow runs it starts, and its own history. Run once on the idle stack, before the windows.
 */
async function measureOneOrder(bench: Bench): Promise<OrderCost> {
  const { stack } = bench;
  await new Promise((resolve) => setTimeout(resolve, FOLLOW_UP_MS)); // the smoke test's follow-ups end first
  const since = new Date().toISOString();
  let orderId = '';
  const paidOrder = paidOrderOp(bench, (id) => (orderId = id));
  const counted = await countStatements(stack.admin, stack.postgresLogFile, async () => {
    await paidOrder(0);
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_UP_MS));
  });
  const workflowsByType: Record<string, number> = {};
  for await (const run of stack.client.workflow.list({ query: `StartTime > "${since}"` })) {
    const history = await stack.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const count = (type: string) => (history.events ?? []).filter((event) => proto.api.enums.v1.EventType[event.eventType ?? 0] === type).length;
    const key = `${run.type} (${history.events?.length ?? 0} events, ${count('EVENT_TYPE_WORKFLOW_TASK_COMPLETED')} workflow tasks, ${count('EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')} activities, ${run.status.name})`;
    workflowsByType[key] = (workflowsByType[key] ?? 0) + 1;
  }
  const orderHistory: Record<string, number> = {};
  const history = await stack.client.workflow.getHandle(orderWorkflowId(orderId)).fetchHistory();
  for (const event of history.events ?? []) {
    const name = (proto.api.enums.v1.EventType[event.eventType ?? 0] ?? '?').replace(/^EVENT_TYPE_/, '');
    orderHistory[name] = (orderHistory[name] ?? 0) + 1;
  }
  const grouped = new Map<string, number>();
  for (const statement of counted.statements) {
    const key = statement.replace(/\$\d+/g, '$').replace(/'[^']*'/g, "'…'").slice(0, 100);
    grouped.set(key, (grouped.get(key) ?? 0) + 1);
  }
  return {
    statements: describeStatements(counted),
    workflowsByType,
    orderHistory,
    statementList: [...grouped].sort((a, b) => b[1] - a[1]),
  };
}

/** start -> (session update) -> paid signal -> completed; parts as the API side's. */
function bareOrderOp(bench: Bench): LoadOp {
  const { client } = bench.stack;
  return async () => {
    const t0 = performance.now();
    const handle = await client.workflow.start<typeof benchOrderWorkflow>('benchOrderWorkflow', {
      taskQueue: BASELINE_TASK_QUEUE,
      workflowId: `bench-order-baseline-${randomUUID()}`,
      args: [ACTIVITIES_BEFORE_PAYMENT, ACTIVITIES_AFTER_PAYMENT],
    });
    // As the API waits for the payment session (an Update) before answering the create.
    await handle.executeUpdate(benchSessionUpdate);
    const t1 = performance.now();
    await handle.signal(benchPaidSignal);
    await handle.result();
    const t2 = performance.now();
    return { create: t1 - t0, webhookToCompleted: t2 - t1 };
  };
}

async function run(bench: Bench): Promise<void> {
  const { settings } = bench;
  // An order takes seconds end to end on a busy machine: a shorter window would count none.
  const seconds = Math.max(settings.measureSeconds, MIN_WINDOW_SECONDS);
  const paidOrder = paidOrderOp(bench);
  try {
    await paidOrder(0); // smoke test: the whole path works before anything is measured
  } catch (error) {
    // The API answers 503 without the cause: show the programs' own words.
    for (const name of ['api', 'worker']) {
      const file = path.join(bench.stack.workDir, `${name}.log`);
      if (fs.existsSync(file)) write(`--- last lines of ${file}\n${fs.readFileSync(file, 'utf8').split('\n').slice(-15).join('\n')}\n`);
    }
    throw error;
  }

  const cost = await measureOneOrder(bench);
  log(`one paid order (its follow-ups included, ${FOLLOW_UP_MS} ms): SQL statements ${cost.statements}`);
  log(`  workflow runs started: ${Object.entries(cost.workflowsByType).map(([type, n]) => `${n} × ${type}`).join('; ')}`);
  log(`  order run history: ${Object.values(cost.orderHistory).reduce((a, b) => a + b, 0)} events (${Object.entries(cost.orderHistory).map(([type, n]) => `${type} ${n}`).join(', ')})`);
  for (const [statement, n] of cost.statementList.slice(0, 40)) log(`    ${String(n).padStart(3)} × ${statement}`);

  log(`orders baseline: bare workflow (${ACTIVITIES_BEFORE_PAYMENT} no-op activities, payment signal, ${ACTIVITIES_AFTER_PAYMENT} more) from ${ORDER_CLIENTS} clients`);
  const baselineWorker = await startBaselineWorker(bench, BASELINE_TASK_QUEUE);
  const baseline = await bench.measure('orders baseline', ORDER_CLIENTS, seconds, bareOrderOp(bench));
  await baselineWorker.stop();

  log(`orders api: POST /v1/internal/orders (stripe), signed checkout.session.completed webhook, wait for the run to complete, ${ORDER_CLIENTS} clients`);
  await bench.stack.settleDatabase();
  bench.api.freshConnections();
  const api = await bench.measure('api paid orders', ORDER_CLIENTS, seconds, paidOrder);

  const ratio = api.perSecond / baseline.perSecond;
  const apiTail = api.parts.webhookToCompleted;
  const baseTail = baseline.parts.webhookToCompleted;
  write(`\nPaid orders, end to end — ${seconds} s measured after ${settings.warmupSeconds} s warm-up, ${ORDER_CLIENTS} concurrent orders\n`);
  const partCells = (parts: typeof api.parts) => [
    fmt(parts.create?.p50, 1),
    fmt(parts.create?.p99, 1),
    fmt(parts.webhookToCompleted?.p50, 1),
    fmt(parts.webhookToCompleted?.p99, 1),
  ];
  printTable(
    ['', 'clients', 'orders/s', 'p50 ms', 'p99 ms', 'ok', 'errors', 'create p50', 'create p99', 'paid->done p50', 'paid->done p99'],
    [
      loadRow(`baseline: bare workflow, ${ACTIVITIES_BEFORE_PAYMENT}+${ACTIVITIES_AFTER_PAYMENT} no-op activities`, baseline, partCells(baseline.parts)),
      loadRow('api: order, Stripe webhook, provisioned', api, partCells(api.parts)),
    ],
  );
  reportErrors('baseline orders', baseline);
  reportErrors('api orders', api);
  write(
    `  ratio api/baseline: ${ratio.toFixed(3)}; webhook POST itself p50 ${fmt(api.parts.webhook?.p50, 1)} / p99 ${fmt(api.parts.webhook?.p99, 1)} ms\n` +
      `  CPU ms per order — baseline: ${cpuLine(baseline)}\n` +
      `  CPU ms per order — api:      ${cpuLine(api)}\n`,
  );
  bench.target({
    number: 8,
    name: 'paid-orders',
    value: ratio,
    comparison: '>=',
    goal: ORDERS_RATIO_GOAL,
    meaning: `paid orders provisioned ${fmt(api.perSecond)}/s over the bare workflow's ${fmt(baseline.perSecond)}/s, ${ORDER_CLIENTS} clients`,
  });
  bench.target({
    number: 8,
    name: 'webhook-to-completed-p99',
    value: (apiTail?.p99 ?? NaN) / (baseTail?.p99 ?? NaN),
    comparison: '<=',
    goal: WEBHOOK_P99_OVER_BASELINE_P99_GOAL,
    digits: 2,
    meaning: `webhook receipt -> completed p99 ${fmt(apiTail?.p99, 1)} ms (p50 ${fmt(apiTail?.p50, 1)}) over the bare workflow's signal -> completed p99 ${fmt(baseTail?.p99, 1)} ms`,
  });
  write('\n');
  bench.summary(
    `paid orders/s    api ${fmt(api.perSecond)} (webhook->completed p50 ${fmt(apiTail?.p50, 1)} / p99 ${fmt(apiTail?.p99, 1)} ms)  ` +
      `baseline ${fmt(baseline.perSecond)} (p99 ${fmt(baseTail?.p99, 1)} ms)  ratio ${ratio.toFixed(3)}`,
  );
  bench.results.orders = { oneOrder: cost, baseline, api, ratio: round(ratio, 4), webhookToCompletedP99OverBaseline: round((apiTail?.p99 ?? NaN) / (baseTail?.p99 ?? NaN), 3) };
}

export const scenario: Scenario = {
  name: 'orders',
  order: 30,
  description: 'paid orders end to end (create, signed Stripe webhook, provisioned) vs a bare workflow with as many activities (target 8)',
  run,
};
