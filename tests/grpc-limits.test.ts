/**
 * The gRPC port's edge (api/grpc/credits.ts) against the real stack: the HTTP API's per-credential
 * rate limits hold for calls over gRPC, gRPC-Web and Connect, counted in the same budget as the
 * caller's HTTP requests (the in-memory store and a shared Redis), refused with RESOURCE_EXHAUSTED,
 * ErrorInfo RATE_LIMITED and retry info; and gRPC calls show in the request metrics.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fromBinary } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { createGrpcServer, type GrpcServer } from '../api/grpc/server';
import { ErrorInfoSchema, RetryInfoSchema } from '../api/grpc/gen/google/rpc/error_details_pb';
import { StatusSchema } from '../api/grpc/gen/google/rpc/status_pb';
import { CreditsService } from '../api/grpc/gen/durable_billing/credits/v1/credits_pb';
import { connectRateLimitStore, type SharedRateLimitStore } from '../api/rate-limit-store';
import { createLogger } from '../platform/logger';
import { startRedis, type LocalRedis } from '../scripts/services';
import { ManualClockStore } from './support/manual-clock-store';
import { balances, grantCredits, newUserId, OTHER_SERVICE_KEY, SERVICE_KEY, startStack, type TestStack } from './support/stack';

const definition = protoLoader.loadSync(['durable_billing/credits/v1/credits.proto'], {
  includeDirs: [`${__dirname}/../proto`],
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
});
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const loaded = grpc.loadPackageDefinition(definition) as any;

const METRICS_TOKEN = 'test-metrics-token-grpc-limits-0123';
const SERVICE_LIMIT = 3;
const WINDOW_MS = 1000;
const DEDUCT_ROUTE = 'grpc /durable_billing.credits.v1.CreditsService/DeductCredits';

type Answer = { error: grpc.ServiceError | null; value: any };

/** The stack's HTTP API and a gRPC port made with its rate limits, as api/main.ts makes them. */
interface Doors {
  stack: TestStack;
  server: GrpcServer;
  baseUrl: string;
  credits: any;
  close(): Promise<void>;
}

async function openDoors(stack: TestStack): Promise<Doors> {
  const server = createGrpcServer(stack.deps, createLogger('grpc-limits-test', 'warn'), { rateLimits: stack.rateLimits });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const credits = new loaded.durable_billing.credits.v1.CreditsService(address, grpc.credentials.createInsecure());
  return {
    stack,
    server,
    baseUrl: `http://${address}`,
    credits,
    async close() {
      credits.close();
      await new Promise((resolve) => server.close(resolve));
      await stack.close();
    },
  };
}

function metadataFor(credential: string | null, idempotencyKey?: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (credential !== null) metadata.set('authorization', `Bearer ${credential}`);
  if (idempotencyKey !== undefined) metadata.set('idempotency-key', idempotencyKey);
  return metadata;
}

function call(client: any, method: string, request: object, metadata: grpc.Metadata): Promise<Answer> {
  return new Promise((resolve) => {
    client[method](request, metadata, (error: grpc.ServiceError | null, value: unknown) => resolve({ error, value }));
  });
}

const deduct = (doors: Doors, userId: string, credential = SERVICE_KEY) =>
  call(doors.credits, 'DeductCredits', { userId, actionKey: 'pdf_export', quantity: 1 }, metadataFor(credential, randomUUID()));
const check = (doors: Doors, credential: string | null = SERVICE_KEY) => call(doors.credits, 'CheckCredits', { userId: 'u', actionKey: 'ai_chat' }, metadataFor(credential));
const checkOverHttp = (doors: Doors) => doors.stack.call('POST', '/v1/internal/credits/check', { as: 'service', body: { userId: 'u', actionKey: 'ai_chat' } });

/** A grpc-js refusal: RESOURCE_EXHAUSTED, ErrorInfo RATE_LIMITED with the HTTP status and details, RetryInfo, `retry-after`. */
function expectRateLimited(answer: Answer, retryAfterSeconds: number): void {
  expect(answer.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  const [bytes] = answer.error!.metadata.get('grpc-status-details-bin') as Buffer[];
  const status = fromBinary(StatusSchema, bytes!);
  const info = status.details.map((detail) => anyUnpack(detail, ErrorInfoSchema)).find(Boolean);
  expect(info).toMatchObject({ reason: 'RATE_LIMITED', domain: 'durable-billing', metadata: { httpStatus: '429' } });
  expect(JSON.parse(info!.metadata.details!)).toEqual({ retryAfterSeconds });
  const retry = status.details.map((detail) => anyUnpack(detail, RetryInfoSchema)).find(Boolean);
  expect(retry?.retryDelay?.seconds).toBe(BigInt(retryAfterSeconds));
  expect(answer.error!.metadata.get('retry-after')).toEqual([String(retryAfterSeconds)]);
}

describe('rate limits on the gRPC port (in-memory store, a clock the test moves)', () => {
  const store = new ManualClockStore();
  let doors: Doors;
  beforeAll(async () => {
    const stack = await startStack({
      withWorker: false,
      edge: { RATE_LIMIT_WINDOW_MS: WINDOW_MS, RATE_LIMIT_SERVICE: SERVICE_LIMIT, RATE_LIMIT_ADMIN: 3, RATE_LIMIT_USER: 2, RATE_LIMIT_ANONYMOUS: 2, METRICS_TOKENS: [METRICS_TOKEN] },
      rateLimitStore: store,
    });
    doors = await openDoors(stack);
  });
  // Each test starts in a fresh window.
  beforeEach(() => store.advance(WINDOW_MS));
  afterAll(async () => {
    await doors?.close();
  });

  it('refuses a credential over its limit with RESOURCE_EXHAUSTED and RATE_LIMITED, deducts nothing, leaves other credentials alone, and recovers', async () => {
    const userId = newUserId();
    await grantCredits(doors.stack.db, userId, 10);
    for (let i = 0; i < SERVICE_LIMIT; i++) expect((await deduct(doors, userId)).error).toBeNull();
    const refused = await deduct(doors, userId);
    expectRateLimited(refused, 1); // the rest of the 1 s window, rounded up
    expect((await balances(doors.stack.db, userId))[0]).toMatchObject({ used: SERVICE_LIMIT, available: 10 - SERVICE_LIMIT });
    expect(await doors.stack.db.consumptionRecord.count({ where: { userId } })).toBe(SERVICE_LIMIT);

    // Another credential has its own budget.
    expect((await deduct(doors, userId, OTHER_SERVICE_KEY)).error).toBeNull();

    store.advance(WINDOW_MS); // the window ends
    expect((await deduct(doors, userId)).error).toBeNull();
    expect((await balances(doors.stack.db, userId))[0]).toMatchObject({ used: SERVICE_LIMIT + 2 });
  });

  it('counts HTTP requests and gRPC calls of one credential in one budget, both ways', async () => {
    for (let i = 0; i < SERVICE_LIMIT - 1; i++) expect((await checkOverHttp(doors)).status).toBe(200);
    expect((await check(doors)).error).toBeNull();
    expectRateLimited(await check(doors), 1);
    expect((await checkOverHttp(doors)).status).toBe(429);
    // The other credential's calls over either door are still answered.
    expect((await check(doors, OTHER_SERVICE_KEY)).error).toBeNull();

    store.advance(WINDOW_MS);
    for (let i = 0; i < SERVICE_LIMIT; i++) expect((await check(doors)).error).toBeNull();
    const overHttp = await checkOverHttp(doors);
    expect(overHttp.status).toBe(429);
    expect(overHttp.body).toMatchObject({ error: { code: 'RATE_LIMITED' } });
  });

  it('counts calls without a valid credential against their address, as HTTP requests from it', async () => {
    expect((await doors.stack.call('POST', '/v1/internal/credits/check', { as: 'anonymous', body: { userId: 'u', actionKey: 'ai_chat' } })).status).toBe(401);
    expect((await check(doors, 'not-a-key')).error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expectRateLimited(await check(doors, null), 1);
  });

  describe.each([
    ['gRPC-Web', () => createGrpcWebTransport({ baseUrl: doors.baseUrl, httpVersion: '1.1' })],
    ['Connect', () => createConnectTransport({ baseUrl: doors.baseUrl, httpVersion: '1.1' })],
  ])('over %s', (_protocol, transport: () => Transport) => {
    it('refuses with the same code, ErrorInfo and retry info, in the same budget', async () => {
      const userId = newUserId();
      await grantCredits(doors.stack.db, userId, 10);
      const credits = createClient(CreditsService, transport());
      const headers = () => ({ authorization: `Bearer ${SERVICE_KEY}`, 'idempotency-key': randomUUID() });
      expect((await checkOverHttp(doors)).status).toBe(200);
      expect((await deduct(doors, userId)).error).toBeNull();
      await credits.deductCredits({ userId, actionKey: 'pdf_export', quantity: 1 }, { headers: headers() });
      const refused = await credits
        .deductCredits({ userId, actionKey: 'pdf_export', quantity: 1 }, { headers: headers() })
        .then(() => undefined, (error: unknown) => ConnectError.from(error));
      expect(refused?.code).toBe(Code.ResourceExhausted);
      expect(refused?.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: 'RATE_LIMITED', metadata: { httpStatus: '429', details: '{"retryAfterSeconds":1}' } });
      expect(refused?.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds).toBe(1n);
      expect(refused?.metadata.get('retry-after')).toBe('1');
      expect((await balances(doors.stack.db, userId))[0]).toMatchObject({ used: 2, available: 8 });
    });
  });

  it('records gRPC calls in the request metrics under the route grpc /<service>/<method>', async () => {
    const userId = newUserId();
    await grantCredits(doors.stack.db, userId, 1);
    const before = await scrape(doors.stack.baseUrl);
    expect((await deduct(doors, userId)).error).toBeNull();
    for (let i = 0; i < 2; i++) expect((await deduct(doors, userId)).error?.code).toBe(grpc.status.FAILED_PRECONDITION); // INSUFFICIENT_CREDITS
    const answered = await scrape(doors.stack.baseUrl);
    const route = { method: 'POST', route: DEDUCT_ROUTE };
    const delta = (after: Scrape, name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(delta(answered, 'http_request_duration_seconds_count', { ...route, status: '200' })).toBe(1);
    expect(delta(answered, 'http_request_duration_seconds_count', { ...route, status: '402' })).toBe(2);
    expect(delta(answered, 'billing_api_refusals_total', { ...route, code: 'INSUFFICIENT_CREDITS' })).toBe(2);

    expectRateLimited(await deduct(doors, userId), 1);
    const limited = await scrape(doors.stack.baseUrl);
    expect(delta(limited, 'http_request_duration_seconds_count', { ...route, status: '429' })).toBe(1);
    expect(delta(limited, 'billing_api_refusals_total', { ...route, code: 'RATE_LIMITED' })).toBe(1);
  });
});

describe('rate limits on the gRPC port with the shared Redis store', () => {
  let redis: LocalRedis;
  let shared: SharedRateLimitStore;
  let doors: Doors;
  beforeAll(async () => {
    redis = await startRedis();
    shared = await connectRateLimitStore(redis.url, createLogger('grpc-limits-redis', 'warn'));
    // A window far longer than the test: what it counts never resets under it.
    const stack = await startStack({ withWorker: false, edge: { RATE_LIMIT_WINDOW_MS: 3_600_000, RATE_LIMIT_SERVICE: SERVICE_LIMIT }, rateLimitStore: shared.store });
    doors = await openDoors(stack);
  });
  afterAll(async () => {
    await doors?.close();
    await shared?.close();
    await redis?.stop();
  });

  it('counts HTTP requests and gRPC calls of one credential in one budget in Redis', async () => {
    for (let i = 0; i < SERVICE_LIMIT - 1; i++) expect((await checkOverHttp(doors)).status).toBe(200);
    expect((await check(doors)).error).toBeNull();
    const refused = await check(doors);
    expect(refused.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const retryAfter = Number(refused.error!.metadata.get('retry-after')[0]);
    expect(retryAfter).toBeGreaterThan(3000);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect((await checkOverHttp(doors)).status).toBe(429);
    expect((await check(doors, OTHER_SERVICE_KEY)).error).toBeNull();
  });
});

interface Scrape {
  text: string;
}

async function scrape(baseUrl: string): Promise<Scrape> {
  const response = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(response.status).toBe(200);
  return { text: await response.text() };
}

/** The value of the sample lines of `name` whose labels include `labels`, summed; 0 when absent. */
function valueOf({ text }: Scrape, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) sum += Number(m[3]);
  }
  return sum;
}
