/**
 * The daily inspection on its own database (so "clean" means clean): run on demand through the admin
 * API and its workflow, it reports nothing on a clean database, then one finding of each kind planted
 * behind the services' backs, the findings gauge per kind, the outbox event, and the schedule.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { findFreePort, startProcess } from '../scripts/services';
import { inspectionFindings, runInspection } from '../modules/lifecycle';
import { scheduleDefinitions } from '../modules/lifecycle/schedules';
import { grantCredits, newUserId, startStack, type TestStack } from './support/stack';
import { waitFor } from './support/wait';
import { createOwnDatabase } from './support/own-database';

let stack: TestStack;
let databaseUrl: string;
beforeAll(async () => {
  databaseUrl = await createOwnDatabase('inspection');
  stack = await startStack({ databaseUrl, withWorker: true });
});
afterAll(async () => {
  await stack?.stopWorker();
  await stack?.close();
});

async function gaugeValues(): Promise<Record<string, number>> {
  const metric = await inspectionFindings.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.kind), v.value]));
}

const TWO_HOURS = 2 * 3_600_000;

it('finds nothing on a clean database (with users in several pages)', async () => {
  for (let i = 0; i < 5; i += 1) await grantCredits(stack.db, newUserId('clean'), 10);
  const run = await stack.call('POST', '/v1/admin/inspections', { as: 'admin', body: {} });
  expect(run.status).toBe(201);
  expect(run.body).toMatchObject({ kind: 'inspection', trigger: 'admin', items: [], summary: { findings: 0 } });
  expect(await gaugeValues()).toEqual({ ledger_mismatch: 0, hold_past_deadline: 0, grant_past_expiry: 0, paid_not_provisioned: 0, dead_letters: 0 });
  // Small pages walk every user once.
  const mails: string[] = [];
  const paged = await runInspection(stack.db, { trigger: 'admin' }, { pageSize: 2, notifyOperator: async (subject) => void mails.push(subject) });
  expect(mails).toEqual([]);
  const report = await stack.db.lifecycleReport.findUniqueOrThrow({ where: { id: paged } });
  expect(report.summary).toMatchObject({ findings: 0, userPages: 3 });
  expect(await stack.db.event.count({ where: { type: 'inspection.findings' } })).toBe(0);
});

it('reports one finding of each kind, sets the gauge, records the event, and answers the same report for the same key', async () => {
  // Ledger mismatch: a balance column changed without a ledger entry.
  const mismatchUser = newUserId('mismatch');
  const mismatchGrant = await grantCredits(stack.db, mismatchUser, 10);
  await stack.db.userPackage.update({ where: { id: mismatchGrant }, data: { totalCredits: 13 } });
  // A grant still active two hours past its expiry (no timer, no sweep).
  const expiredUser = newUserId('expired');
  const expiredGrant = await grantCredits(stack.db, expiredUser, 5, { startsAt: new Date(Date.now() - 3 * TWO_HOURS) });
  await stack.db.userPackage.update({ where: { id: expiredGrant }, data: { expiresAt: new Date(Date.now() - TWO_HOURS) } });
  // A hold still held two hours past its deadline (no workflow ever settled it).
  const holdUser = newUserId('hold');
  await grantCredits(stack.db, holdUser, 5);
  const holdId = randomUUID();
  await stack.db.reservation.create({
    data: { id: holdId, userId: holdUser, actionKey: 'test', quantity: 1, unitPrice: 0, creditsHeld: 0, status: 'held', expiresAt: new Date(Date.now() - TWO_HOURS), workflowId: `test-${holdId}`, requestHash: 'test' },
  });
  // A paid order whose provisioning never happened.
  const orderUser = newUserId('order');
  const order = await stack.call('POST', '/v1/internal/orders', { body: { userId: orderUser, packageCode: 'monthly_membership', channel: 'manual' } });
  expect(order.status).toBe(201);
  await stack.db.orderPayment.create({ data: { orderId: order.body.id, source: 'manual', externalId: 'manual', amountMinor: order.body.amountMinor, currency: order.body.currency, actor: 'test', paidAt: new Date(Date.now() - TWO_HOURS) } });
  await stack.db.order.update({ where: { id: order.body.id }, data: { status: 'paid' } });
  // A dead letter: a delivery that gave up (to a disabled endpoint, so the relay leaves it alone).
  const endpoint = await stack.db.webhookEndpoint.create({ data: { id: randomUUID(), url: 'https://example.invalid/hook', eventTypes: ['never.sent'], enabled: false, secretCiphertext: 'x' } });
  const event = await stack.db.event.create({ data: { id: randomUUID(), type: 'webhook.test', userId: null, payload: {} } });
  await stack.db.webhookDelivery.create({ data: { id: randomUUID(), eventId: event.id, eventOccurredAt: event.occurredAt, endpointId: endpoint.id, status: 'failed', attemptCount: 8, lastError: 'HTTP 500' } });

  const key = randomUUID();
  const run = await stack.call('POST', '/v1/admin/inspections', { as: 'admin', body: {}, idempotencyKey: key });
  expect(run.status).toBe(201);
  const found = run.body.items.map((i: { kind: string; subjectId: string }) => `${i.kind}:${i.subjectId}`).sort();
  expect(found).toEqual(
    [
      `ledger_mismatch:${mismatchGrant}`,
      `grant_past_expiry:${expiredGrant}`,
      `hold_past_deadline:${holdId}`,
      `paid_not_provisioned:${order.body.id}`,
      'dead_letters:webhook_deliveries',
    ].sort(),
  );
  expect(run.body.summary).toMatchObject({ findings: 5, byKind: { ledger_mismatch: 1, hold_past_deadline: 1, grant_past_expiry: 1, paid_not_provisioned: 1, dead_letters: 1 } });
  expect(await gaugeValues()).toEqual({ ledger_mismatch: 1, hold_past_deadline: 1, grant_past_expiry: 1, paid_not_provisioned: 1, dead_letters: 1 });
  const events = await stack.db.event.findMany({ where: { type: 'inspection.findings' } });
  expect(events.map((e) => e.payload)).toEqual([expect.objectContaining({ reportId: run.body.id, findings: 5 })]);

  const again = await stack.call('POST', '/v1/admin/inspections', { as: 'admin', body: {}, idempotencyKey: key });
  expect(again.body.id).toBe(run.body.id);
  expect(await stack.db.event.count({ where: { type: 'inspection.findings' } })).toBe(1);

  // The operator's mail: once per run with findings, the counts per kind in its text.
  const mails: Array<{ subject: string; text: string }> = [];
  const mailed = await runInspection(stack.db, { trigger: 'admin' }, { pageSize: 1, notifyOperator: async (subject, text) => void mails.push({ subject, text }) });
  expect(mails).toEqual([{ subject: 'Billing inspection: 5 finding(s)', text: expect.stringContaining('ledger_mismatch: 1') }]);
  expect(mails[0]!.text).toContain(`/v1/admin/inspections/${mailed}`);

  const one = await stack.call('GET', `/v1/admin/inspections/${run.body.id}`, { as: 'admin' });
  expect(one.body.id).toBe(run.body.id);
  const list = await stack.call('GET', '/v1/admin/inspections?limit=1', { as: 'admin' });
  expect(list.body.items.map((r: { id: string }) => r.id)).toEqual([mailed]);
  expect(list.body.nextCursor).not.toBeNull();
  const next = await stack.call('GET', `/v1/admin/inspections?limit=10&cursor=${encodeURIComponent(list.body.nextCursor)}`, { as: 'admin' });
  expect(next.body.items.every((r: { kind: string }) => r.kind === 'inspection')).toBe(true);
  expect(next.body.items.length).toBeGreaterThanOrEqual(1);
});

it("shows the latest report's findings on a freshly started worker's /metrics (read at scrape time, not kept in the process that ran it)", async () => {
  const [latest] = await stack.db.lifecycleReport.findMany({ where: { kind: 'inspection' }, orderBy: { startedAt: 'desc' }, take: 1 });
  const byKind = (latest!.summary as { byKind: Record<string, number> }).byKind;
  expect(byKind.ledger_mismatch).toBeGreaterThan(0);
  const port = await findFreePort();
  const lines: string[] = [];
  const worker = startProcess({
    name: 'worker',
    command: process.execPath,
    args: ['--import', 'tsx', 'worker/main.ts'],
    cwd: path.join(__dirname, '..'),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LOG_LEVEL: 'warn',
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: `inspection-metrics-${port}`,
      WORKER_METRICS_PORT: String(port),
      EVENTS_RELAY_ENABLED: 'false',
      SCHEDULES_ENABLED: 'false',
    },
    log: (line) => lines.push(line),
  });
  try {
    const expected = Object.entries(byKind).map(([kind, count]) => `billing_inspection_findings{kind="${kind}"} ${count}`);
    const scraped = await waitFor(
      async () => {
        const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
        return expected.every((line) => text.includes(line)) ? text : undefined;
      },
      90_000,
      `the findings on the new worker's /metrics (its log: ${lines.slice(-5).join(' | ')})`,
    );
    expect(scraped).toContain('billing_inspection_findings{kind="dead_letters"} 1');
  } finally {
    await worker.stop();
  }
});

it('answers 404 for a report of another kind', async () => {
  const sweep = await stack.call('POST', '/v1/admin/lifecycle/sweeps', { as: 'admin', body: { userId: newUserId('none') } });
  expect(sweep.status).toBe(201);
  expect((await stack.call('GET', `/v1/admin/inspections/${sweep.body.id}`, { as: 'admin' })).status).toBe(404);
});

it('is one of the schedules created at worker start', () => {
  expect(scheduleDefinitions({ sweepEveryMinutes: 15 }).find((d) => d.job === 'dailyInspection')).toMatchObject({ id: 'billing-daily-inspection' });
});
