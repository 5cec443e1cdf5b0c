/**
 * Outgoing webhooks end to end: a business change writes an event in its transaction, the relay hands it
 * to Temporal, the delivery workflow signs and POSTs it to a local receiver, which verifies it with the
 * public `standardwebhooks` library. Real PostgreSQL, Temporal dev server and worker; short retry
 * schedule (the full Svix schedule is checked on the time-skipping server in webhook-backoff.test.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Connection } from '@temporalio/client';
import { Webhook } from 'standardwebhooks';
import { ensureSearchAttributes } from '../worker/search-attributes';
import { handOver, relayOnce, type RelayDeps } from '../modules/events/relay';
import { recordEvent } from '../platform/outbox/record';
import { deliveryWorkflowId } from '../workflows/delivery-contract';
import { grantCredits, newUserId, startStack, type TestStack } from './support/stack';
import { startReceiver, type Answer, type Receiver } from './support/webhook-receiver';
import { waitFor } from './support/wait';

let stack: TestStack;
let receiver: Receiver;
let relay: RelayDeps;
const SCHEDULE = [0, 400, 800, 1200, 1600];

beforeAll(async () => {
  stack = await startStack({ withWorker: false });
  await ensureSearchAttributes(stack.temporal.connection as Connection, 'default');
  await stack.startWorker();
  receiver = await startReceiver();
  relay = {
    db: stack.db,
    temporal: stack.temporal,
    taskQueue: stack.taskQueue,
    config: { EVENTS_RELAY_BATCH_SIZE: 1000, EVENTS_RELAY_INTERVAL_MS: 100, WEBHOOK_RETRY_SCHEDULE_MS: SCHEDULE },
    // Other test files share the database: this relay hands over only this file's events.
    only: { OR: [{ userId: { startsWith: 'wh-' } }, { type: 'webhook.test' }] },
  };
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

async function createEndpoint(path: string, eventTypes: string[]) {
  const response = await stack.call('POST', '/v1/admin/webhook-endpoints', { as: 'admin', body: { url: receiver.url(path), eventTypes, description: path } });
  expect(response.status).toBe(201);
  expect(response.body.secret).toMatch(/^whsec_/);
  return response.body as { id: string; secret: string };
}

async function deduct(userId: string) {
  const response = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' } });
  expect(response.status).toBe(201);
  return response.body as { id: string };
}

/**
 * Other test files deduct concurrently in the same database and this file's relay hands their events
 * to these endpoints too, so every check looks only at its own user's event.
 */
async function deliveryOf(endpointId: string, status: string, userId: string) {
  const event = await stack.db.event.findFirstOrThrow({ where: { userId, type: 'credits.deducted' } });
  return waitFor(
    async () => stack.db.webhookDelivery.findFirst({ where: { endpointId, status, eventId: event.id }, include: { attempts: { orderBy: { id: 'asc' } } } }),
    60_000,
    `a ${status} delivery`,
  );
}

function requestsOf(path: string, userId: string) {
  return receiver.forPath(path).filter((request) => JSON.parse(request.body).userId === userId);
}

it('delivers a signed event that the receiver verifies with the standardwebhooks library', async () => {
  const path = `/ok-${randomUUID()}`;
  const endpoint = await createEndpoint(path, ['credits.deducted']);
  const userId = newUserId('wh-hook');
  await grantCredits(stack.db, userId, 100);
  const consumption = await deduct(userId);
  await relayOnce(relay);

  const [request] = await waitFor(() => requestsOf(path, userId).length > 0 && requestsOf(path, userId), 60_000, 'the delivery');
  const verified = new Webhook(endpoint.secret).verify(request!.body, request!.headers as Record<string, string>) as any;
  expect(verified.type).toBe('credits.deducted');
  expect(verified.userId).toBe(userId);
  expect(verified.data).toMatchObject({ consumptionId: consumption.id, actionKey: 'ai_chat', quantity: 1 });
  expect(request!.headers['webhook-id']).toBe(verified.id);
  // Another secret does not verify it.
  expect(() => new Webhook(`whsec_${Buffer.alloc(24, 7).toString('base64')}`).verify(request!.body, request!.headers as Record<string, string>)).toThrow();

  const delivery = await deliveryOf(endpoint.id, 'delivered', userId);
  expect(delivery.attempts).toHaveLength(1);
  expect(delivery.attempts[0]!.statusCode).toBe(200);
  const listed = await stack.call('GET', `/v1/admin/webhook-deliveries?eventId=${delivery.eventId}&endpointId=${endpoint.id}`, { as: 'admin' });
  expect(listed.body.items).toEqual([expect.objectContaining({ status: 'delivered', eventType: 'credits.deducted', attemptCount: 1 })]);
});

it('retries a failing receiver on the schedule, honours Retry-After, and delivers exactly once', async () => {
  const path = `/flaky-${randomUUID()}`;
  const userId = newUserId('wh-flaky');
  receiver.on(path, (request) => {
    const count = requestsOf(path, userId).length;
    if (JSON.parse(request.body).userId !== userId) return { status: 200 };
    if (count === 2) return { status: 503, headers: { 'retry-after': '2' } };
    return count <= 3 ? { status: 500, body: 'boom' } : { status: 200 };
  });
  const endpoint = await createEndpoint(path, ['credits.deducted']);
  await grantCredits(stack.db, userId, 100);
  await deduct(userId);
  await relayOnce(relay);

  const delivery = await deliveryOf(endpoint.id, 'delivered', userId);
  const requests = requestsOf(path, userId);
  expect(requests).toHaveLength(4);
  expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(1); // one message, receivers dedupe on it
  expect(delivery.attempts.map((a) => a.statusCode)).toEqual([500, 503, 500, 200]);
  const gaps = requests.slice(1).map((r, i) => r.at - requests[i]!.at);
  expect(gaps[0]).toBeGreaterThanOrEqual(SCHEDULE[1]! - 50);
  expect(gaps[1]).toBeGreaterThanOrEqual(2000 - 50); // Retry-After: 2 beat the schedule's 800 ms
  expect(gaps[2]).toBeGreaterThanOrEqual(SCHEDULE[3]! - 50);
  const endpointRow = await stack.db.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
  expect(endpointRow.failingSince).toBeNull(); // the success cleared the failure record
});

it('disables an endpoint that answers 410 Gone and records an event saying so', async () => {
  const path = `/gone-${randomUUID()}`;
  receiver.on(path, () => ({ status: 410 }));
  const endpoint = await createEndpoint(path, ['credits.deducted']);
  const userId = newUserId('wh-gone');
  await grantCredits(stack.db, userId, 100);
  await deduct(userId);
  await relayOnce(relay);

  await deliveryOf(endpoint.id, 'failed', userId);
  expect(requestsOf(path, userId)).toHaveLength(1);
  const shown = await stack.call('GET', `/v1/admin/webhook-endpoints/${endpoint.id}`, { as: 'admin' });
  expect(shown.body).toMatchObject({ enabled: false });
  const events = await stack.call('GET', '/v1/admin/events?type=webhook_endpoint.disabled', { as: 'admin' });
  expect(events.body.items.some((e: any) => e.payload.endpointId === endpoint.id && e.payload.reason === 'gone')).toBe(true);
});

it('ends as a dead letter after the last attempt; an admin replay delivers it', async () => {
  const path = `/dead-${randomUUID()}`;
  let up = false;
  receiver.on(path, () => (up ? { status: 204 } : { status: 500 }));
  const endpoint = await createEndpoint(path, ['credits.deducted']);
  const userId = newUserId('wh-dead');
  await grantCredits(stack.db, userId, 100);
  await deduct(userId);
  await relayOnce(relay);

  const failed = await deliveryOf(endpoint.id, 'failed', userId);
  expect(failed.attempts).toHaveLength(SCHEDULE.length);
  expect(failed.lastError).toMatch(/retries exhausted/);

  up = true;
  const replay = await stack.call('POST', `/v1/admin/webhook-endpoints/${endpoint.id}/replay-failed`, { as: 'admin' });
  expect(replay.status).toBe(202);
  expect(replay.body.replayed).toContain(failed.id);
  const delivered = await deliveryOf(endpoint.id, 'delivered', userId);
  expect(delivered.attempts.at(-1)!.statusCode).toBe(204);
  expect(requestsOf(path, userId)).toHaveLength(SCHEDULE.length + 1);
});

it('a replay while the old run is still open starts a new run instead of attaching to it', async () => {
  // The row turns failed in the run's last activity, a moment before that run closes. Staged here by
  // holding the run's first attempt open and marking the row failed meanwhile.
  const path = `/closing-${randomUUID()}`;
  const userId = newUserId('wh-closing');
  let release: (() => void) | undefined;
  receiver.on(path, (request) =>
    JSON.parse(request.body).userId === userId && requestsOf(path, userId).length === 1
      ? new Promise<Answer>((resolve) => { release = () => resolve({ status: 500 }); })
      : { status: 204 },
  );
  const endpoint = await createEndpoint(path, ['credits.deducted']);
  await grantCredits(stack.db, userId, 100);
  await deduct(userId);
  await relayOnce(relay);
  await waitFor(() => requestsOf(path, userId).length === 1, 60_000, 'the first attempt in flight');
  const event = await stack.db.event.findFirstOrThrow({ where: { userId, type: 'credits.deducted' } });
  const workflowId = deliveryWorkflowId(event.id, endpoint.id);
  const oldRun = (await stack.temporal.workflow.getHandle(workflowId).describe()).runId;
  await stack.db.webhookDelivery.updateMany({ where: { eventId: event.id, endpointId: endpoint.id }, data: { status: 'failed' } });

  const replay = await stack.call('POST', `/v1/admin/webhook-endpoints/${endpoint.id}/replay-failed`, { as: 'admin' });
  expect(replay.status).toBe(202);
  expect(replay.body.replayed).toHaveLength(1);
  release!();
  const delivered = await deliveryOf(endpoint.id, 'delivered', userId);
  expect(delivered.attempts.at(-1)!.statusCode).toBe(204);
  const described = await stack.temporal.workflow.getHandle(workflowId).describe();
  expect(described.runId).not.toBe(oldRun);
  expect((await stack.temporal.workflow.getHandle(workflowId, oldRun).describe()).status.name).toBe('TERMINATED');
});

it('signs with both secrets during a rotation overlap', async () => {
  const path = `/rotate-${randomUUID()}`;
  const endpoint = await createEndpoint(path, ['webhook.test']);
  const rotated = await stack.call('POST', `/v1/admin/webhook-endpoints/${endpoint.id}/rotate-secret`, { as: 'admin', body: { overlapHours: 1 } });
  expect(rotated.status).toBe(200);
  expect(rotated.body.secret).not.toBe(endpoint.secret);
  expect(rotated.body.previousSecretExpiresAt).not.toBeNull();

  const test = await stack.call('POST', `/v1/admin/webhook-endpoints/${endpoint.id}/test`, { as: 'admin' });
  expect(test.status).toBe(202);
  await relayOnce(relay);
  const [request] = await waitFor(() => receiver.forPath(path).length > 0 && receiver.forPath(path), 60_000, 'the test event');
  expect(String(request!.headers['webhook-signature']).split(' ')).toHaveLength(2);
  for (const secret of [endpoint.secret, rotated.body.secret]) {
    expect((new Webhook(secret).verify(request!.body, request!.headers as Record<string, string>) as any).type).toBe('webhook.test');
  }
  // Without overlap, only the new secret signs.
  const again = await stack.call('POST', `/v1/admin/webhook-endpoints/${endpoint.id}/rotate-secret`, { as: 'admin', body: { overlapHours: 0 } });
  await stack.call('POST', `/v1/admin/webhook-endpoints/${endpoint.id}/test`, { as: 'admin' });
  await relayOnce(relay);
  const second = (await waitFor(() => receiver.forPath(path).length > 1 && receiver.forPath(path), 60_000, 'the second test event'))[1]!;
  expect(String(second.headers['webhook-signature']).split(' ')).toHaveLength(1);
  expect(() => new Webhook(rotated.body.secret).verify(second.body, second.headers as Record<string, string>)).toThrow();
  expect((new Webhook(again.body.secret).verify(second.body, second.headers as Record<string, string>) as any).type).toBe('webhook.test');
});

it('writes no event when the business transaction rolls back', async () => {
  const userId = newUserId('wh-rollback');
  await grantCredits(stack.db, userId, 1);
  const refused = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat', quantity: 1000 } });
  expect(refused.status).toBe(402);
  await expect(
    stack.db.$transaction(async (tx) => {
      await recordEvent(tx, { type: 'balance.low', userId, payload: { availableCredits: 0, threshold: 10 } });
      throw new Error('the change failed after the event was written');
    }),
  ).rejects.toThrow('the change failed');
  expect(await stack.db.event.count({ where: { userId, type: { in: ['credits.deducted', 'balance.low'] } } })).toBe(0);
});

it('delivers once when the relay died between hand-over and marking the event relayed', async () => {
  const path = `/crash-${randomUUID()}`;
  const endpoint = await createEndpoint(path, ['credits.deducted']);
  const userId = newUserId('wh-crash');
  await grantCredits(stack.db, userId, 100);
  await deduct(userId);
  const event = await stack.db.event.findFirstOrThrow({ where: { userId, type: 'credits.deducted' } });
  const endpoints = await stack.db.webhookEndpoint.findMany({ where: { id: endpoint.id } });
  await handOver(relay, event, endpoints); // the relay got this far, then its process died
  expect((await stack.db.event.findFirstOrThrow({ where: { id: event.id } })).relayedAt).toBeNull();

  await deliveryOf(endpoint.id, 'delivered', userId);
  await relayOnce(relay); // a new relay repeats the hand-over: a no-op for the delivered pair
  expect((await stack.db.event.findFirstOrThrow({ where: { id: event.id } })).relayedAt).not.toBeNull();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(requestsOf(path, userId)).toHaveLength(1);
  expect(await stack.db.webhookDelivery.count({ where: { eventId: event.id, endpointId: endpoint.id } })).toBe(1);
});

it('completes a delivery after the worker stops mid-delivery and a new one starts', async () => {
  const path = `/slow-${randomUUID()}`;
  let release: (() => void) | undefined;
  const userId = newUserId('wh-restart');
  receiver.on(path, (request) =>
    JSON.parse(request.body).userId === userId && requestsOf(path, userId).length === 1
      ? new Promise<Answer>((resolve) => { release = () => resolve({ status: 500 }); })
      : { status: 200 },
  );
  const endpoint = await createEndpoint(path, ['credits.deducted']);
  await grantCredits(stack.db, userId, 100);
  await deduct(userId);
  await relayOnce(relay);
  await waitFor(() => requestsOf(path, userId).length === 1, 60_000, 'the first attempt in flight');
  const stopping = stack.stopWorker(); // the worker goes away while the attempt is in flight
  release!();
  await stopping;
  await stack.startWorker();
  const delivery = await deliveryOf(endpoint.id, 'delivered', userId);
  expect(delivery.attempts.at(-1)!.statusCode).toBe(200);
});

it('records balance.low once per crossing below the threshold', async () => {
  const userId = newUserId('wh-low');
  await grantCredits(stack.db, userId, 12); // threshold 10 (BALANCE_LOW_THRESHOLD default); ai_chat costs 1
  const lowEvents = () => stack.db.event.count({ where: { userId, type: 'balance.low' } });
  await deduct(userId); // 11
  await deduct(userId); // 10: not below
  expect(await lowEvents()).toBe(0);
  await deduct(userId); // 9: crossed
  await deduct(userId); // 8: still below
  expect(await lowEvents()).toBe(1);
  await stack.call('POST', `/v1/admin/users/${userId}/packages`, { as: 'admin', body: { packageCode: 'new_user_trial' } }); // back above
  const available = (await stack.call('GET', '/v1/me/credits', { as: { user: userId } })).body.availableCredits as number;
  expect(available).toBeGreaterThanOrEqual(10);
  for (let spent = 0; spent < available - 9; spent++) await deduct(userId);
  expect(await lowEvents()).toBe(2);
});
