/**
 * The API's edge as operators and attackers meet it: /metrics (who may read it, that it parses as
 * Prometheus text and counts requests, refusals, credit operations and open holds), the worker's
 * metrics endpoint with the Temporal SDK's series, rate limits per credential with Retry-After and
 * recovery, CORS for the user routes, security headers, the body size limit, and /readyz naming a
 * stopped worker.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { ADMIN_KEY, SERVICE_KEY, expectLedgerInvariant, grantCredits, newUserId, startStack, userToken, type TestStack } from './support/stack';
import { freeLoopbackPort, startWorkerMetricsServer } from '../worker/telemetry';
import { waitFor } from './support/wait';
import { ManualClockStore } from './support/manual-clock-store';

// No type declarations ship with the parser (prom2json-compatible output).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const parsePrometheusText: (text: string) => MetricFamily[] = require('parse-prometheus-text-format');

interface MetricFamily {
  name: string;
  type: string;
}

const METRICS_TOKEN = 'test-metrics-token-0123456789';

let stack: TestStack;
let sdkMetricsAddress: string;
beforeAll(async () => {
  sdkMetricsAddress = `127.0.0.1:${await freeLoopbackPort()}`;
  stack = await startStack({ sdkMetricsAddress, edge: { METRICS_TOKENS: [METRICS_TOKEN] } });
});
afterAll(async () => {
  await stack?.close();
});

async function scrape(baseUrl: string, authorization = `Bearer ${METRICS_TOKEN}`): Promise<Scrape> {
  const response = await fetch(`${baseUrl}/metrics`, { headers: { authorization } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  const families = parsePrometheusText(text);
  expect(families.length).toBeGreaterThan(10);
  for (const family of families) expect(['COUNTER', 'GAUGE', 'HISTOGRAM', 'SUMMARY', 'UNTYPED']).toContain(family.type);
  return { families, text };
}

interface Scrape {
  families: MetricFamily[];
  text: string;
}

/**
 * The value of one sample line (summed over the lines whose labels include `labels`); 0 when absent. Read
 * from the text: the parser above proves the format, but it drops the labels of histogram samples.
 */
function valueOf({ text }: Scrape, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) sum += Number(m[3]);
  }
  return sum;
}

describe('GET /metrics', () => {
  it('is readable with a metrics token or an admin key, not anonymously nor with a service key or user token', async () => {
    expect((await fetch(`${stack.baseUrl}/metrics`)).status).toBe(401);
    const anonymous = await fetch(`${stack.baseUrl}/metrics`);
    expect(await anonymous.json()).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) } });
    expect((await fetch(`${stack.baseUrl}/metrics`, { headers: { authorization: `Bearer ${SERVICE_KEY}` } })).status).toBe(403);
    expect((await fetch(`${stack.baseUrl}/metrics`, { headers: { authorization: `Bearer ${await userToken('u-1')}` } })).status).toBe(403);
    expect((await fetch(`${stack.baseUrl}/metrics`, { headers: { authorization: 'Bearer not-the-metrics-token-at-all' } })).status).toBe(401);
    await scrape(stack.baseUrl, `Bearer ${ADMIN_KEY}`);
  });

  it('parses as Prometheus text with process metrics, and counts a request and a refusal by route template and code', async () => {
    const before = await scrape(stack.baseUrl);
    expect(valueOf(before, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(before.families.find((f) => f.name === 'nodejs_eventloop_lag_seconds')).toBeDefined();

    const userId = newUserId();
    await grantCredits(stack.db, userId, 1);
    const deduct = { method: 'POST', route: '/v1/internal/credits/deduct' };
    expect((await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' } })).status).toBe(201);
    expect((await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' } })).status).toBe(402);
    const unknownReservation = randomUUID();
    expect((await stack.call('GET', `/v1/internal/reservations/${unknownReservation}`)).status).toBe(404);

    const after = await scrape(stack.baseUrl);
    const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(delta('http_request_duration_seconds_count', { ...deduct, status: '201' })).toBe(1);
    expect(delta('http_request_duration_seconds_count', { ...deduct, status: '402' })).toBe(1);
    expect(delta('billing_api_refusals_total', { ...deduct, code: 'INSUFFICIENT_CREDITS' })).toBe(1);
    expect(delta('billing_credit_operations_total', { operation: 'deduct', outcome: 'ok' })).toBe(1);
    expect(delta('billing_credit_operations_total', { operation: 'deduct', outcome: 'refused', code: 'INSUFFICIENT_CREDITS' })).toBe(1);
    // The route template, never the raw URL: label values stay bounded whatever callers send.
    expect(delta('http_request_duration_seconds_count', { method: 'GET', route: '/v1/internal/reservations/:reservationId', status: '404' })).toBe(1);
    expect(after.text).not.toContain(unknownReservation);
  });

  it('shows reservation holds open (from the database), and counts the hold the API placed', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 20);
    const reserve = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity: 2 } });
    expect(reserve.status).toBe(201);
    // The gauges read the database at most once per SCRAPE_READ_TTL_MS: an earlier scrape's values may be served first.
    const held = await waitFor(async () => {
      const scraped = await scrape(stack.baseUrl);
      return valueOf(scraped, 'billing_reservation_holds_open') >= 1 && valueOf(scraped, 'billing_reservation_credits_held') >= 2 && scraped;
    }, 30_000, 'the hold in the holds gauges');
    expect(valueOf(held, 'billing_credit_operations_total', { operation: 'holdCredits', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    await expectLedgerInvariant(stack.db, userId);
  });
});

describe('worker metrics endpoint', () => {
  let server: Server;
  afterAll(() => server?.close());

  it('serves the Temporal SDK series together with the process metrics', async () => {
    server = await startWorkerMetricsServer({ host: '127.0.0.1', port: 0, sdkMetricsAddress });
    const port = (server.address() as AddressInfo).port;
    // The SDK's exporter answers on its own too.
    expect((await fetch(`http://${sdkMetricsAddress}/metrics`)).status).toBe(200);
    const families = parsePrometheusText(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    const names = families.map((f) => f.name);
    expect(names.filter((name) => name.startsWith('temporal_')).length).toBeGreaterThan(5);
    expect(names).toEqual(expect.arrayContaining(['process_cpu_user_seconds_total', 'temporal_worker_task_slots_available']));
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  });
});

describe('rate limits', () => {
  const WINDOW_MS = 1000;
  const store = new ManualClockStore();
  let limited: TestStack;
  beforeAll(async () => {
    limited = await startStack({
      withWorker: false,
      edge: { RATE_LIMIT_WINDOW_MS: WINDOW_MS, RATE_LIMIT_SERVICE: 3, RATE_LIMIT_ADMIN: 3, RATE_LIMIT_USER: 2, RATE_LIMIT_ANONYMOUS: 2 },
      rateLimitStore: store,
    });
  });
  // Each test starts in a fresh window.
  beforeEach(() => store.advance(WINDOW_MS));
  afterAll(async () => {
    await limited?.close();
  });

  it('answers 429 RATE_LIMITED with Retry-After once a credential is over its limit, per credential, and recovers', async () => {
    for (let i = 0; i < 3; i++) expect((await limited.call('GET', '/v1/admin/action-prices', { as: 'service' })).status).toBe(403);
    const refused = await limited.call('POST', '/v1/internal/credits/check', { as: 'service', body: { userId: 'u', actionKey: 'ai_chat' } });
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: { code: 'RATE_LIMITED', message: expect.any(String), details: { retryAfterSeconds: expect.any(Number) } } });
    expect(refused.headers.get('retry-after')).toBe('1'); // the rest of the 1 s window, rounded up
    expect(refused.headers.get('ratelimit-policy')).toMatch(/q=3/);
    // Another credential has its own budget.
    expect((await limited.call('GET', '/v1/admin/action-prices', { as: 'admin' })).status).toBe(200);

    store.advance(WINDOW_MS); // the window ends
    expect((await limited.call('POST', '/v1/internal/credits/check', { as: 'service', body: { userId: 'u', actionKey: 'ai_chat' } })).status).toBe(200);
  });

  it('limits a user by token subject, whatever token carries it, and anonymous callers by address; probes are exempt', async () => {
    const userId = newUserId();
    const first = await fetch(`${limited.baseUrl}/v1/me/credits`, { headers: { authorization: `Bearer ${await userToken(userId)}` } });
    expect(first.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 5)); // a token minted later is another string
    for (const expected of [200, 429]) {
      const response = await fetch(`${limited.baseUrl}/v1/me/credits`, { headers: { authorization: `Bearer ${await userToken(userId)}` } });
      expect(response.status).toBe(expected);
    }
    for (const expected of [404, 404, 429]) expect((await fetch(`${limited.baseUrl}/v1/nothing-here`)).status).toBe(expected);
    for (let i = 0; i < 5; i++) expect((await fetch(`${limited.baseUrl}/healthz`)).status).toBe(200);
  });
});

describe('CORS, security headers and body size', () => {
  let edge: TestStack;
  beforeAll(async () => {
    edge = await startStack({ withWorker: false, edge: { CORS_ALLOWED_ORIGINS: ['https://app.example.com'], HTTP_BODY_LIMIT_BYTES: 2048 } });
  });
  afterAll(async () => {
    await edge?.close();
  });

  const preflight = (baseUrl: string, path: string, origin: string) =>
    fetch(`${baseUrl}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });

  it('lets a listed origin call the user routes from a browser and refuses another', async () => {
    const allowed = await preflight(edge.baseUrl, '/v1/me/credits', 'https://app.example.com');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/Authorization/);

    const other = await preflight(edge.baseUrl, '/v1/me/credits', 'https://evil.example.net');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await fetch(`${edge.baseUrl}/v1/me/credits`, {
      headers: { origin: 'https://evil.example.net', authorization: `Bearer ${await userToken(newUserId())}` },
    });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();

    // Service and admin routes never answer CORS: their keys do not belong in a browser.
    const internal = await preflight(edge.baseUrl, '/v1/internal/credits/check', 'https://app.example.com');
    expect(internal.headers.get('access-control-allow-origin')).toBeNull();
    // No origin is allowed by default.
    const byDefault = await preflight(stack.baseUrl, '/v1/me/credits', 'https://app.example.com');
    expect(byDefault.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sends security headers', async () => {
    const response = await fetch(`${edge.baseUrl}/healthz`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(response.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('answers an oversized body with 413 PAYLOAD_TOO_LARGE in the envelope, and changes nothing', async () => {
    const userId = newUserId();
    await grantCredits(edge.db, userId, 5);
    const response = await edge.call('POST', '/v1/internal/credits/deduct', {
      body: { userId, actionKey: 'ai_chat', metadata: { note: 'x'.repeat(4096) } },
    });
    expect(response.status).toBe(413);
    expect(response.body).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: expect.any(String), details: { limitBytes: 2048 } } });
    expect(await edge.db.consumptionRecord.count({ where: { userId } })).toBe(0);
  });
});

describe('GET /readyz', () => {
  it('reports each dependency and the task queue pollers; a queue no worker polls shows as degraded, still 200', async () => {
    const ready = await stack.call('GET', '/readyz', { as: 'anonymous' });
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'ready',
      checks: { database: 'ok', temporal: 'ok', worker: 'ok' },
      worker: { taskQueue: stack.taskQueue, pollers: [expect.objectContaining({ identity: expect.any(String), lastPollAt: expect.any(String) })] },
    });

    const queueWithoutWorker = await startStack({ withWorker: false });
    try {
      const degraded = await queueWithoutWorker.call('GET', '/readyz', { as: 'anonymous' });
      expect(degraded.status).toBe(200);
      expect(degraded.body).toEqual({
        status: 'degraded',
        checks: { database: 'ok', temporal: 'ok', worker: 'no_pollers' },
        worker: { taskQueue: queueWithoutWorker.taskQueue, pollers: [] },
      });
    } finally {
      await queueWithoutWorker.close();
    }
  });
});
