/**
 * The TypeScript SDK (clients/typescript) against the real stack: typed calls with keys made for the
 * caller, the reservation helper, the error envelope as BillingApiError, a retry after a 503 that
 * reuses the key, pagination, and verification of a real webhook delivery.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { BillingApiError, createBillingClient, paginate, verifyWebhook, WebhookVerificationError, withReservation, type BillingClient } from '@durable-billing/client';
import { relayOnce } from '../modules/events/relay';
import { createActionPrice } from './support/fixtures';
import { ADMIN_KEY, grantCredits, newUserId, SERVICE_KEY, startStack, userToken, type TestStack } from './support/stack';
import { startReceiver, type Receiver } from './support/webhook-receiver';
import { waitFor } from './support/wait';

let stack: TestStack;
let billing: BillingClient;
let actionKey: string;

beforeAll(async () => {
  stack = await startStack();
  billing = createBillingClient({ baseUrl: stack.baseUrl, credential: SERVICE_KEY });
  actionKey = (await createActionPrice(stack, { creditsPerUnit: 2 })).actionKey;
});
afterAll(async () => {
  await stack?.close();
});

async function userWith(credits: number, label = 'sdk'): Promise<string> {
  const userId = newUserId(label);
  if (credits > 0) await grantCredits(stack.db, userId, credits);
  return userId;
}

async function spendable(userId: string): Promise<number> {
  const client = createBillingClient({ baseUrl: stack.baseUrl, credential: await userToken(userId) });
  return (await client.get('/v1/me/credits')).availableCredits;
}

it('deducts with a typed call, making the Idempotency-Key itself', async () => {
  const userId = await userWith(10);
  const consumption = await billing.post('/v1/internal/credits/deduct', { body: { userId, actionKey, quantity: 3 } });
  expect(consumption).toMatchObject({ userId, actionKey, quantity: 3, creditsCost: 6 });
  expect(await spendable(userId)).toBe(4);
});

it('reserves, runs and commits the quantity the work says it used', async () => {
  const userId = await userWith(10);
  const outcome = await withReservation(billing, { userId, actionKey, quantity: 4 }, async (reservation) => {
    expect(reservation.status).toBe('held');
    return { used: 3, result: 'done' };
  });
  expect(outcome.result).toBe('done');
  expect(outcome.commit?.reservation.status).toBe('committed');
  expect(outcome.commit?.consumption).toMatchObject({ quantity: 3, creditsCost: 6 });
  expect(await spendable(userId)).toBe(4);
});

it('releases the hold when the work throws, and rethrows the work’s error', async () => {
  const userId = await userWith(10);
  let reservationId: string | undefined;
  const failure = new Error('model down');
  await expect(
    withReservation(billing, { userId, actionKey, quantity: 4 }, async (reservation) => {
      reservationId = reservation.id;
      throw failure;
    }),
  ).rejects.toBe(failure);
  const reservation = await billing.get('/v1/internal/reservations/{reservationId}', { params: { path: { reservationId: reservationId! } } });
  expect(reservation.reservation.status).toBe('released');
  expect(await spendable(userId)).toBe(10);
});

it('throws a 402 as a BillingApiError with the envelope’s code, details and request id', async () => {
  const userId = await userWith(1);
  const error = await billing.post('/v1/internal/credits/deduct', { body: { userId, actionKey } }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(BillingApiError);
  expect(error).toMatchObject({ status: 402, code: 'INSUFFICIENT_CREDITS', details: { required: 2, available: 1 } });
  expect((error as BillingApiError).requestId).toEqual(expect.any(String));
  // The reservation helper refuses the same way, before the work runs.
  const work = jest.fn();
  await expect(withReservation(billing, { userId, actionKey }, work)).rejects.toMatchObject({ status: 402, code: 'INSUFFICIENT_CREDITS' });
  expect(work).not.toHaveBeenCalled();
});

/** A proxy to the API that passes the first request on but answers it with a 503 (the answer is lost), then forwards. */
async function startLosingProxy(target: string) {
  const seen: { method: string; key: string | undefined; status: number; replayed: string | null }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name))) as Record<string, string>;
      const answer = await fetch(`${target}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
      const body = await answer.text();
      seen.push({ method: req.method!, key: req.headers['idempotency-key'] as string | undefined, status: answer.status, replayed: answer.headers.get('idempotent-replayed') });
      if (seen.length === 1) {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '7' });
        res.end(JSON.stringify({ error: { code: 'SERVICE_UNAVAILABLE', message: 'lost', details: { retryable: true, retryAfterSeconds: 7 } } }));
        return;
      }
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

it('retries after a 503 with the same Idempotency-Key, waiting what Retry-After says, so the deduct happens once', async () => {
  const proxy = await startLosingProxy(stack.baseUrl);
  try {
    const waits: number[] = [];
    const client = createBillingClient({ baseUrl: proxy.url, credential: SERVICE_KEY, retry: { sleep: async (ms) => void waits.push(ms) } });
    const userId = await userWith(10);
    const consumption = await client.post('/v1/internal/credits/deduct', { body: { userId, actionKey } });
    expect(consumption.quantity).toBe(1);
    expect(waits).toEqual([7000]);
    expect(proxy.seen).toHaveLength(2);
    expect(proxy.seen[0]!.key).toEqual(expect.any(String));
    expect(proxy.seen[1]!.key).toBe(proxy.seen[0]!.key);
    expect(proxy.seen[1]).toMatchObject({ status: 201, replayed: 'true' });
    expect(await spendable(userId)).toBe(8); // charged once
  } finally {
    await proxy.close();
  }
});

it('iterates a list across pages with an async iterator', async () => {
  const userId = await userWith(20);
  for (let i = 0; i < 5; i++) await billing.post('/v1/internal/credits/deduct', { body: { userId, actionKey, metadata: { i } } });
  let pages = 0;
  const counting: typeof fetch = (input, init) => {
    pages++;
    return fetch(input, init);
  };
  const asUser = createBillingClient({ baseUrl: stack.baseUrl, credential: await userToken(userId), fetch: counting });
  const seen: string[] = [];
  for await (const consumption of paginate(asUser, '/v1/me/consumptions', { params: { query: { limit: 2 } } })) seen.push(consumption.id);
  expect(seen).toHaveLength(5);
  expect(new Set(seen).size).toBe(5);
  expect(pages).toBe(3);
});

describe('webhooks', () => {
  let receiver: Receiver;
  let admin: BillingClient;
  beforeAll(async () => {
    receiver = await startReceiver();
    admin = createBillingClient({ baseUrl: stack.baseUrl, credential: ADMIN_KEY });
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('verifies a real delivery’s signature and answers the typed event', async () => {
    const path = `/sdk-${randomUUID()}`;
    const endpoint = await admin.post('/v1/admin/webhook-endpoints', { body: { url: receiver.url(path), eventTypes: ['credits.deducted'], description: 'sdk test' } });
    try {
      const userId = await userWith(10, 'sdkhook');
      const consumption = await billing.post('/v1/internal/credits/deduct', { body: { userId, actionKey } });
      // This file's relay hands over only its own users' events (other files share the database).
      await relayOnce({
        db: stack.db,
        temporal: stack.temporal,
        taskQueue: stack.taskQueue,
        config: { EVENTS_RELAY_BATCH_SIZE: 1000, EVENTS_RELAY_INTERVAL_MS: 100, WEBHOOK_RETRY_SCHEDULE_MS: [0, 400, 800] },
        only: { userId: { startsWith: 'sdkhook-' } },
      });
      const ours = () => receiver.forPath(path).filter((request) => JSON.parse(request.body).userId === userId);
      const [delivery] = await waitFor(() => ours().length > 0 && ours(), 60_000, 'the delivery');

      const event = verifyWebhook(endpoint.secret, delivery!.body, delivery!.headers);
      expect(event.type).toBe('credits.deducted');
      if (event.type !== 'credits.deducted') throw new Error('narrowed above');
      expect(event.data).toMatchObject({ consumptionId: consumption.id, actionKey, quantity: 1 });
      expect(event.id).toBe(delivery!.headers['webhook-id']);
      // During a rotation the receiver holds two secrets: one that signed is enough.
      const other = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
      expect(verifyWebhook([other, endpoint.secret], delivery!.body, delivery!.headers).id).toBe(event.id);
      expect(() => verifyWebhook(other, delivery!.body, delivery!.headers)).toThrow(WebhookVerificationError);
      expect(() => verifyWebhook(endpoint.secret, delivery!.body.replace('credits.deducted', 'credits.granted'), delivery!.headers)).toThrow(WebhookVerificationError);
    } finally {
      await admin.delete('/v1/admin/webhook-endpoints/{endpointId}', { params: { path: { endpointId: endpoint.id } } });
    }
  });
});
