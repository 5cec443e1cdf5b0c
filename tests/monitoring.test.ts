/**
 * What Prometheus and Grafana read is what the service exports. A real API (/metrics, with a metrics
 * token) and worker (the Temporal SDK's exporter, with the worker's settings) are scraped after traffic
 * that makes every lazily created series appear: a reservation, a workflow task that fails, a webhook
 * delivered by a regular activity, events relayed. Then every metric name in deploy/prometheus and
 * deploy/grafana must be among the exported ones, and the series added for the alerts count what their
 * help says: webhook attempts by outcome, relayed events and their credits, and the gauges read from
 * PostgreSQL (relay lag, overdue expiries, latest reconciliation findings).
 */
import { randomUUID } from 'node:crypto';
import type { Connection } from '@temporalio/client';
import { relayOnce, type RelayDeps } from '../modules/events/relay';
import { readOperationsGauges } from '../modules/reports/operations-gauges';
import { freeLoopbackPort } from '../worker/telemetry';
import { ensureSearchAttributes } from '../worker/search-attributes';
import { allRules, dashboardQueries, metricNames, withGrafanaVariables } from './support/monitoring';
import { newUserId, startStack, type TestStack } from './support/stack';
import { waitFor } from './support/wait';
import { startReceiver, type Receiver } from './support/webhook-receiver';

const METRICS_TOKEN = 'test-metrics-token-monitoring-0123';
/** Series Prometheus itself makes for every target. */
const PROMETHEUS_SERIES = ['up'];

let stack: TestStack;
let receiver: Receiver;
let sdkMetricsAddress: string;
beforeAll(async () => {
  sdkMetricsAddress = `127.0.0.1:${await freeLoopbackPort()}`;
  stack = await startStack({ sdkMetricsAddress, withWorker: false, edge: { METRICS_TOKENS: [METRICS_TOKEN] } });
  await ensureSearchAttributes(stack.temporal.connection as Connection, 'default');
  await stack.startWorker();
  receiver = await startReceiver();
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

async function apiText(): Promise<string> {
  const response = await fetch(`${stack.baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(response.status).toBe(200);
  return response.text();
}

async function sdkText(): Promise<string> {
  return (await fetch(`http://${sdkMetricsAddress}/metrics`)).text();
}

/** The series names a scrape can hold, from its `# TYPE` lines (a histogram's _bucket, _sum and _count). */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there are none). */
function valueOf(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) sum += Number(m[3]);
  }
  return sum;
}

/**
 * Grants a user a membership, deducts, relays the user's two events and waits until the deduct's webhook
 * was delivered (a regular activity) and counted. Answers the API's scrapes before and after.
 */
async function deliverOneWebhook(): Promise<{ before: string; after: string; userId: string }> {
  const path = `/monitoring-${randomUUID()}`;
  const endpoint = await stack.call('POST', '/v1/admin/webhook-endpoints', { as: 'admin', body: { url: receiver.url(path), eventTypes: ['credits.deducted'] } });
  expect(endpoint.status).toBe(201);
  const userId = newUserId('mon');
  const before = await apiText();
  const granted = await stack.call('POST', `/v1/admin/users/${userId}/packages`, { as: 'admin', body: { packageCode: 'monthly_membership', source: 'purchase' } });
  expect(granted.status).toBe(201);
  expect((await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'advanced_analysis' } })).status).toBe(201);
  // This file's relay hands over only this user's events: no other test file's relay takes them.
  const relay: RelayDeps = {
    db: stack.db,
    temporal: stack.temporal,
    taskQueue: stack.taskQueue,
    config: { EVENTS_RELAY_BATCH_SIZE: 100, EVENTS_RELAY_INTERVAL_MS: 100, WEBHOOK_RETRY_SCHEDULE_MS: [0, 500] },
    only: { userId },
  };
  expect(await relayOnce(relay)).toBe(2);
  await waitFor(() => receiver.forPath(path).length > 0, 60_000, 'the webhook delivery');
  const delivered = (text: string) => valueOf(text, 'billing_webhook_deliveries_total', { outcome: 'delivered' });
  const after = await waitFor(async () => {
    const text = await apiText();
    return delivered(text) > delivered(before) && text;
  }, 60_000, 'the delivered attempt to be counted');
  expect((await stack.call('DELETE', `/v1/admin/webhook-endpoints/${endpoint.body.id}`, { as: 'admin' })).status).toBeLessThan(300);
  return { before, after, userId };
}

describe('series added for the alerts and the dashboard', () => {
  it('counts relayed events with their credits, and webhook attempts by outcome', async () => {
    const { before, after } = await deliverOneWebhook();
    const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(delta('billing_events_relayed_total', { type: 'credits.granted' })).toBe(1);
    expect(delta('billing_events_relayed_total', { type: 'credits.deducted' })).toBe(1);
    expect(delta('billing_event_credits_total', { type: 'credits.granted' })).toBe(100); // monthly_membership
    expect(delta('billing_event_credits_total', { type: 'credits.deducted' })).toBe(3); // advanced_analysis
    // Every outcome is exported from the start (at 0), so increase() sees the first dead letter.
    for (const outcome of ['delivered', 'retry', 'failed', 'error']) expect(after).toMatch(new RegExp(`^billing_webhook_deliveries_total\\{outcome="${outcome}"\\} \\d+$`, 'm'));
  });

  it('reads the relay backlog, overdue expiries and the latest reconciliation findings from PostgreSQL', async () => {
    // One snapshot (REPEATABLE READ) sees the rows other test files commit meanwhile as they were; the
    // rows written here are rolled back, so no other test sees them.
    const rollback = new Error('rollback');
    const outcome = stack.db.$transaction(
      async (tx) => {
        const before = await readOperationsGauges(tx);
        const userId = newUserId('mon');
        const hourAgo = new Date(Date.now() - 3_600_000);
        await tx.event.create({ data: { id: randomUUID(), type: 'balance.low', userId, payload: {}, occurredAt: new Date(Date.now() - 600_000) } });
        await tx.userPackage.create({ data: { userId, source: 'gift', status: 'active', totalCredits: 5, expiresAt: hourAgo } });
        const membership = await tx.billingPackage.findFirstOrThrow({ where: { code: 'monthly_membership' } });
        await tx.subscription.create({ data: { userId, packageId: membership.id, status: 'active', currentPeriodStart: new Date(Date.now() - 86_400_000), currentPeriodEnd: hourAgo } });
        const later = new Date(Date.now() + 86_400_000); // after every real report, so this one is the latest
        await tx.lifecycleReport.create({
          data: {
            id: randomUUID(), kind: 'reconciliation', trigger: 'schedule', summary: { grantLedgerMismatches: 2, paidNotProvisioned: 1, provisionedWithoutPayment: 0 },
            items: [], startedAt: later, finishedAt: later,
          },
        });
        // A user-scoped run is not the whole database's: it does not replace the latest whole report.
        await tx.lifecycleReport.create({
          data: { id: randomUUID(), kind: 'reconciliation', trigger: 'admin', scopeUserId: userId, summary: { grantLedgerMismatches: 9 }, items: [], startedAt: new Date(later.getTime() + 1000), finishedAt: later },
        });
        const channel = `mon-${randomUUID()}`;
        await tx.reconciliationReport.create({ data: { id: randomUUID(), channelCode: channel, periodFrom: hourAgo, periodTo: hourAgo, trigger: 'schedule', localCount: 1, remoteCount: 1, mismatchCount: 7, createdAt: hourAgo } });
        await tx.reconciliationReport.create({ data: { id: randomUUID(), channelCode: channel, periodFrom: hourAgo, periodTo: later, trigger: 'schedule', localCount: 1, remoteCount: 1, mismatchCount: 4, createdAt: later } });
        const after = await readOperationsGauges(tx);

        expect(after.relayLagSeconds).toBeGreaterThan(590); // written 600 s before now(), less the moments since the snapshot began
        expect(after.unrelayedEvents).toBe(before.unrelayedEvents + 1);
        expect(after.overdueGrants).toBe(before.overdueGrants + 1);
        expect(after.overdueSubscriptions).toBe(before.overdueSubscriptions + 1);
        expect(after.reconciliation).toEqual({ finishedAt: later, grantLedgerMismatches: 2, paidNotProvisioned: 1, provisionedWithoutPayment: 0 });
        expect(after.gatewayMismatches).toBe(before.gatewayMismatches + 4); // that channel's latest report only
        throw rollback;
      },
      { isolationLevel: 'RepeatableRead' },
    );
    await expect(outcome).rejects.toBe(rollback);
  });

  it('exports the gauges with their labels on the API', async () => {
    const text = await apiText();
    for (const subject of ['grant', 'subscription']) expect(text).toMatch(new RegExp(`^billing_expiry_overdue\\{subject="${subject}"\\} \\d+$`, 'm'));
    for (const check of ['paid_not_provisioned', 'provisioned_without_payment', 'gateway']) {
      expect(text).toMatch(new RegExp(`^billing_reconciliation_mismatches\\{check="${check}"\\} \\d+$`, 'm'));
    }
    for (const name of ['billing_event_relay_lag_seconds', 'billing_events_unrelayed', 'billing_ledger_invariant_mismatches']) {
      expect(text).toMatch(new RegExp(`^${name} [\\d.e+-]+$`, 'm'));
    }
  });
});

describe('the names deploy/prometheus and deploy/grafana read', () => {
  let exported: Set<string>;
  beforeAll(async () => {
    // A reservation: workflow tasks and the credit engine's local activities.
    const userId = newUserId('mon');
    expect((await stack.call('POST', `/v1/admin/users/${userId}/packages`, { as: 'admin', body: { packageCode: 'monthly_membership', source: 'purchase' } })).status).toBe(201);
    const reserve = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity: 2 } });
    expect(reserve.status).toBe(201);
    expect((await stack.call('POST', `/v1/internal/reservations/${reserve.body.id}/commit`, { body: { quantity: 1 } })).status).toBe(200);
    // A workflow task that fails: a workflow type the worker does not have.
    const broken = await stack.temporal.workflow.start('noSuchWorkflow', { taskQueue: stack.taskQueue, workflowId: `monitoring-${randomUUID()}`, args: [] });
    await waitFor(async () => /^temporal_workflow_task_execution_failed_total\{/m.test(await sdkText()), 60_000, 'a failed workflow task to be counted');
    await broken.terminate('monitoring test: done');
    // A regular activity (the webhook attempt), unless the test above made one already.
    if (!/^temporal_activity_schedule_to_start_latency_bucket\{/m.test(await sdkText())) await deliverOneWebhook();
    exported = new Set([...exportedNames(await apiText()), ...exportedNames(await sdkText())]);
  });

  function unexported(expressions: string[]): string[] {
    const recorded = new Set(allRules().flatMap((rule) => (rule.record ? [rule.record] : [])));
    const used = new Set(expressions.flatMap((expr) => metricNames(expr)));
    return [...used].filter((name) => !exported.has(name) && !recorded.has(name) && !PROMETHEUS_SERIES.includes(name)).sort();
  }

  it('scraped the series of both processes', () => {
    for (const name of ['http_request_duration_seconds_bucket', 'billing_credit_operations_total', 'temporal_workflow_task_schedule_to_start_latency_bucket', 'temporal_activity_schedule_to_start_latency_bucket']) {
      expect(exported).toContain(name);
    }
  });

  it('uses in every rule only exported series (or series recorded by the rules)', () => {
    const expressions = allRules().map((rule) => rule.expr);
    expect(expressions.flatMap((expr) => metricNames(expr)).length).toBeGreaterThan(20);
    expect(unexported(expressions)).toEqual([]);
  });

  it('uses in every dashboard query only exported series', () => {
    expect(unexported(dashboardQueries().map((q) => withGrafanaVariables(q.expr)))).toEqual([]);
  });

  it('would notice a name that is not exported', () => {
    expect(unexported(['rate(billing_no_such_series_total[5m])'])).toEqual(['billing_no_such_series_total']);
  });
});
