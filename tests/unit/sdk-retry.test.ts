/**
 * The SDK's retries without a server: a scripted fetch answers each attempt, the sleep records what
 * the client would have waited. (The end-to-end retry through a real API is in tests/sdk.test.ts.)
 */
import { BillingApiError, createBillingClient, retryAfterMs } from '@durable-billing/client';

type Scripted = Response | Error;

function scriptedFetch(answers: Scripted[]) {
  const requests: Request[] = [];
  const send = async (input: Parameters<typeof fetch>[0]) => {
    const request = input as Request;
    requests.push(request);
    await request.text(); // the body must still be readable on every attempt
    const answer = answers.shift();
    if (!answer) throw new Error('more attempts than scripted');
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { send: send as typeof fetch, requests };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const unavailable = (retryAfter?: string) =>
  json(503, { error: { code: 'SERVICE_UNAVAILABLE', message: 'not now', details: { retryable: true } } }, retryAfter ? { 'retry-after': retryAfter } : {});
const deducted = () => json(201, { id: 'c1' });

function client(answers: Scripted[], retry: { maxAttempts?: number; maxDelayMs?: number } = {}) {
  const fetch = scriptedFetch(answers);
  const waits: number[] = [];
  const billing = createBillingClient({ baseUrl: 'http://billing.test', credential: 'k', fetch: fetch.send, retry: { ...retry, sleep: async (ms) => void waits.push(ms) } });
  const deduct = () => billing.post('/v1/internal/credits/deduct', { body: { userId: 'u1', actionKey: 'ai_chat' } });
  return { deduct, requests: fetch.requests, waits, billing };
}

it('retries a network error and a 429 with one key and one body', async () => {
  const { deduct, requests, waits } = client([new TypeError('fetch failed'), json(429, { error: { code: 'RATE_LIMITED', message: 'slow down' } }, { 'retry-after': '2' }), deducted()]);
  await expect(deduct()).resolves.toEqual({ id: 'c1' });
  expect(requests).toHaveLength(3);
  expect(new Set(requests.map((r) => r.headers.get('idempotency-key'))).size).toBe(1);
  expect(requests[0]!.headers.get('idempotency-key')).toMatch(/^[0-9a-f-]{36}$/);
  expect(waits).toEqual([200, 2000]); // backoff for the lost connection, then what Retry-After asked
});

it('gives each call its own key', async () => {
  const { deduct, requests } = client([deducted(), deducted()]);
  await deduct();
  await deduct();
  expect(requests[0]!.headers.get('idempotency-key')).not.toBe(requests[1]!.headers.get('idempotency-key'));
});

it('keeps a key the caller gives', async () => {
  const { billing, requests } = client([unavailable('1'), deducted()]);
  await billing.post('/v1/internal/credits/deduct', { body: { userId: 'u1', actionKey: 'ai_chat' }, params: { header: { 'Idempotency-Key': 'job-42' } } });
  expect(requests.map((r) => r.headers.get('idempotency-key'))).toEqual(['job-42', 'job-42']);
});

it('stops after maxAttempts and throws the last refusal as a BillingApiError', async () => {
  const { deduct, requests, waits } = client([unavailable('1'), unavailable('1'), unavailable('1')], { maxAttempts: 3 });
  const error = await deduct().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(BillingApiError);
  expect(error).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', details: { retryable: true }, retryable: true });
  expect(requests).toHaveLength(3);
  expect(waits).toEqual([1000, 1000]);
});

it('does not wait for a Retry-After longer than maxDelayMs', async () => {
  const { deduct, requests, waits } = client([unavailable('120')], { maxDelayMs: 10_000 });
  await expect(deduct()).rejects.toMatchObject({ status: 503 });
  expect(requests).toHaveLength(1);
  expect(waits).toEqual([]);
});

it('does not retry other refusals', async () => {
  const { deduct, requests } = client([json(402, { error: { code: 'INSUFFICIENT_CREDITS', message: 'no', details: { required: 2, available: 1 } } })]);
  await expect(deduct()).rejects.toMatchObject({ status: 402, code: 'INSUFFICIENT_CREDITS', details: { required: 2, available: 1 } });
  expect(requests).toHaveLength(1);
});

it('reads Retry-After as seconds or as an HTTP date', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  expect(retryAfterMs('3', now)).toBe(3000);
  expect(retryAfterMs('Tue, 01 Jan 2030 00:00:05 GMT', now)).toBe(5000);
  expect(retryAfterMs(null, now)).toBeNull();
  expect(retryAfterMs('soon', now)).toBeNull();
});
