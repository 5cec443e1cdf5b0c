/**
 * The real retry schedule (Svix's: immediately, 5 s, 5 min, 30 min, …) on Temporal's time-skipping test
 * server: the delivery workflow's durable timers of minutes run in moments, and each attempt records
 * the workflow time it was due, which shows the backoff actually applied.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createEventActivities } from '../activities/events';
import { DEFAULT_RETRY_SCHEDULE_MS } from '../modules/events/rules/webhook-retries';
import { loadEventsConfig } from '../modules/events/config';
import { createEndpoint } from '../modules/events/endpoints';
import { recordEvent } from '../platform/outbox/record';
import { createDatabase, type Database } from '../platform/database';
import { deliveryWorkflowId, type DeliveryInput } from '../workflows/delivery-contract';
import { startReceiver, type Receiver } from './support/webhook-receiver';
import { suiteWorkflowBundle } from './support/workflow-bundle';

let env: TestWorkflowEnvironment;
let db: Database;
let receiver: Receiver;

beforeAll(async () => {
  const path = execFileSync('which', ['temporal-test-server']).toString().trim();
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
  db = createDatabase(process.env.TEST_DATABASE_URL!, 5);
  receiver = await startReceiver();
});
afterAll(async () => {
  await env?.teardown();
  await db?.$disconnect();
  await receiver?.close();
});

it('a receiver failing 3 times then answering 200 gets one successful delivery after 5 s, 5 min and 30 min', async () => {
  const path = `/svix-${randomUUID()}`;
  receiver.on(path, (_request, count) => (count <= 3 ? { status: 500 } : { status: 200 }));
  const { body: endpoint } = await createEndpoint(db, { url: receiver.url(path), eventTypes: [] }, { scope: 'test', key: randomUUID(), requestHash: 'h' });
  const eventId = await db.$transaction((tx) =>
    recordEvent(tx, { type: 'webhook.test', userId: null, payload: { endpointId: endpoint.id, message: 'backoff' } }),
  );

  const taskQueue = `backoff-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    ...suiteWorkflowBundle(),
    activities: createEventActivities({ db, eventsConfig: loadEventsConfig({ NODE_ENV: 'test' }) }),
  });
  const input: DeliveryInput = { eventId, endpointId: endpoint.id, eventType: 'webhook.test', retryScheduleMs: [...DEFAULT_RETRY_SCHEDULE_MS] };
  const result = await worker.runUntil(
    env.client.workflow.execute('deliveryWorkflow', { taskQueue, workflowId: deliveryWorkflowId(eventId, endpoint.id), args: [input] }),
  );
  expect(result).toEqual({ status: 'delivered', attempts: 4 });

  expect(receiver.forPath(path).length).toBe(4);
  const delivery = await db.webhookDelivery.findFirstOrThrow({
    where: { eventId, endpointId: endpoint.id },
    include: { attempts: { orderBy: { attempt: 'asc' } } },
  });
  expect(delivery.status).toBe('delivered');
  expect(delivery.attempts.map((a) => a.statusCode)).toEqual([500, 500, 500, 200]);
  const due = delivery.attempts.map((a) => a.scheduledAt.getTime());
  const gaps = due.slice(1).map((t, i) => t - due[i]!);
  // Workflow time between attempts: the schedule's delays (plus the few ms each attempt took).
  expect(gaps[0]).toBeGreaterThanOrEqual(5_000);
  expect(gaps[0]).toBeLessThan(5_000 + 60_000);
  expect(gaps[1]).toBeGreaterThanOrEqual(5 * 60_000);
  expect(gaps[1]).toBeLessThan(6 * 60_000);
  expect(gaps[2]).toBeGreaterThanOrEqual(30 * 60_000);
  expect(gaps[2]).toBeLessThan(31 * 60_000);
});
