/**
 * The internal credits API over gRPC (api/grpc/server.ts), called with a real gRPC client
 * (@grpc/grpc-js, descriptors from proto/) against the real stack: PostgreSQL, Temporal, the worker;
 * and over gRPC-Web and Connect (HTTP/1.1, ConnectRPC's clients) on the same port.
 */
import { randomUUID } from 'node:crypto';
import { connect, type AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fromBinary } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { createGrpcServer, type GrpcServer } from '../api/grpc/server';
import { ErrorInfoSchema } from '../api/grpc/gen/google/rpc/error_details_pb';
import { CreditsService } from '../api/grpc/gen/durable_billing/credits/v1/credits_pb';
import { Health } from '../api/grpc/gen/grpc/health/v1/health_pb';
import { balances, grantCredits, newUserId, SERVICE_KEY, startStack, type TestStack } from './support/stack';
import { createLogger } from '../platform/logger';
import { findFreePort, startProcess } from '../scripts/services';
import { ADMIN_KEY, USER_TOKEN_SECRET } from './support/stack';
import { waitFor } from './support/wait';

const PROTO_DIR = `${__dirname}/../proto`;
const definition = protoLoader.loadSync(
  ['durable_billing/credits/v1/credits.proto', 'grpc/health/v1/health.proto', 'grpc/reflection/v1/reflection.proto'],
  { includeDirs: [PROTO_DIR], longs: Number, enums: String, defaults: false, oneofs: true },
);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const loaded = grpc.loadPackageDefinition(definition) as any;

type Answer = { error: grpc.ServiceError | null; value: any; metadata: grpc.Metadata | undefined };

let stack: TestStack;
let server: GrpcServer;
let credits: any;
let health: any;
let reflection: any;
let baseUrl: string;

beforeAll(async () => {
  stack = await startStack();
  server = createGrpcServer(stack.deps, createLogger('grpc-test', 'warn'), { rateLimits: stack.rateLimits });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  baseUrl = `http://${address}`;
  const insecure = grpc.credentials.createInsecure();
  credits = new loaded.durable_billing.credits.v1.CreditsService(address, insecure);
  health = new loaded.grpc.health.v1.Health(address, insecure);
  reflection = new loaded.grpc.reflection.v1.ServerReflection(address, insecure);
});
afterAll(async () => {
  for (const client of [credits, health, reflection]) client?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await stack?.close();
});

function metadataFor(options: { credential?: string | null; idempotencyKey?: string }): grpc.Metadata {
  const metadata = new grpc.Metadata();
  const credential = options.credential === undefined ? SERVICE_KEY : options.credential;
  if (credential !== null) metadata.set('authorization', `Bearer ${credential}`);
  if (options.idempotencyKey !== undefined) metadata.set('idempotency-key', options.idempotencyKey);
  return metadata;
}

/** One unary call; the answer or the error, never a throw, with the response headers. */
function call(client: any, method: string, request: object, metadata = metadataFor({})): Promise<Answer> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    const pending = client[method](request, metadata, (error: grpc.ServiceError | null, value: unknown) => resolve({ error, value, metadata: headers }));
    pending.on('metadata', (received: grpc.Metadata) => {
      headers = received;
    });
  });
}

/** The google.rpc.ErrorInfo in a refusal's grpc-status-details-bin (a google.rpc.Status: details = field 3, Any). */
function errorInfo(error: grpc.ServiceError) {
  const [bytes] = error.metadata.get('grpc-status-details-bin') as Buffer[];
  expect(bytes).toBeDefined();
  const reader = new BinaryReader(bytes!);
  const infos = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field !== 3) {
      reader.skip(wireType);
      continue;
    }
    const any = new BinaryReader(reader.bytes());
    let typeUrl = '';
    let value: Uint8Array = new Uint8Array();
    while (any.pos < any.len) {
      const [anyField, anyWire] = any.tag();
      if (anyField === 1) typeUrl = any.string();
      else if (anyField === 2) value = any.bytes();
      else any.skip(anyWire);
    }
    if (typeUrl === 'type.googleapis.com/google.rpc.ErrorInfo') infos.push(fromBinary(ErrorInfoSchema, value));
  }
  expect(infos).toHaveLength(1);
  return infos[0]!;
}

describe('gRPC credits service', () => {
  it('deducts, replays the same key with the stored answer, and shares the key namespace with HTTP', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 10);
    const key = `grpc-deduct-${randomUUID()}`;
    // google.protobuf.Struct as proto-loader writes it; the HTTP body below carries the same JSON object.
    const request = { userId, actionKey: 'pdf_export', quantity: 2, metadata: { fields: { documentId: { stringValue: 'doc-1' } } } };

    const first = await call(credits, 'DeductCredits', request, metadataFor({ idempotencyKey: key }));
    expect(first.error).toBeNull();
    expect(first.value.replayed).toBeFalsy(); // proto3 omits false on the wire
    expect(first.value.consumption).toMatchObject({ userId, actionKey: 'pdf_export', quantity: 2, creditsCost: 2, metadata: { fields: { documentId: { stringValue: 'doc-1' } } } });

    const again = await call(credits, 'DeductCredits', request, metadataFor({ idempotencyKey: key }));
    expect(again.error).toBeNull();
    expect(again.value).toMatchObject({ replayed: true, consumption: { id: first.value.consumption.id } });
    expect(again.metadata?.get('idempotent-replayed')).toEqual(['true']);

    // The same key and request over HTTP is the same change: its stored answer, not a second spend.
    const httpBody = { userId, actionKey: 'pdf_export', quantity: 2, metadata: { documentId: 'doc-1' } };
    const overHttp = await stack.call('POST', '/v1/internal/credits/deduct', { body: httpBody, idempotencyKey: key });
    expect(overHttp.status).toBe(201);
    expect(overHttp.headers.get('idempotent-replayed')).toBe('true');
    expect(overHttp.body).toMatchObject({ id: first.value.consumption.id, metadata: { documentId: 'doc-1' } });
    // ...and another request under it is refused as over HTTP.
    const reused = await call(credits, 'DeductCredits', { ...request, quantity: 3 }, metadataFor({ idempotencyKey: key }));
    expect(reused.error?.code).toBe(grpc.status.ABORTED);
    expect(errorInfo(reused.error!).reason).toBe('IDEMPOTENCY_KEY_REUSED');

    expect((await balances(stack.db, userId))[0]).toMatchObject({ used: 2, available: 8 });
  });

  it('reserves, reads and commits a reservation', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 10);
    const held = await call(credits, 'CreateReservation', { userId, actionKey: 'ai_chat', quantity: 5 }, metadataFor({ idempotencyKey: randomUUID() }));
    expect(held.error).toBeNull();
    expect(held.value.reservation).toMatchObject({ userId, status: 'held', quantity: 5, creditsHeld: 5 });
    const reservationId = held.value.reservation.id;

    const state = await call(credits, 'GetReservation', { reservationId });
    expect(state.error).toBeNull();
    expect(state.value).toMatchObject({ phase: 'held', reservation: { id: reservationId, status: 'held' } });

    const committed = await call(credits, 'CommitReservation', { reservationId, quantity: 4 }, metadataFor({ idempotencyKey: randomUUID() }));
    expect(committed.error).toBeNull();
    expect(committed.value.reservation.status).toBe('committed');
    expect(committed.value.consumption).toMatchObject({ quantity: 4, creditsCost: 4, reservationId });
    expect((await balances(stack.db, userId))[0]).toMatchObject({ used: 4, reserved: 0, available: 6 });
  });

  it('refuses what the user cannot afford with FAILED_PRECONDITION and the stable code INSUFFICIENT_CREDITS', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 1);
    const refused = await call(credits, 'DeductCredits', { userId, actionKey: 'pdf_export', quantity: 3 }, metadataFor({ idempotencyKey: randomUUID() }));
    expect(refused.error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    const info = errorInfo(refused.error!);
    expect(info).toMatchObject({ reason: 'INSUFFICIENT_CREDITS', domain: 'durable-billing' });
    expect(info.metadata.httpStatus).toBe('402');
    expect(JSON.parse(info.metadata.details!)).toMatchObject({ required: 3, available: 1 });
    expect((await balances(stack.db, userId))[0]).toMatchObject({ used: 0, available: 1 });
  });

  it('refuses calls without a valid credential, and writes without an idempotency key', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 10);
    const request = { userId, actionKey: 'pdf_export' };
    for (const credential of [null, 'not-a-key']) {
      const refused = await call(credits, 'CheckCredits', request, metadataFor({ credential }));
      expect(refused.error?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(errorInfo(refused.error!).reason).toBe('UNAUTHENTICATED');
    }
    const noKey = await call(credits, 'DeductCredits', request);
    expect(noKey.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(errorInfo(noKey.error!).reason).toBe('IDEMPOTENCY_KEY_REQUIRED');
    const invalid = await call(credits, 'GetReservation', { reservationId: 'not-a-uuid' });
    expect(invalid.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(errorInfo(invalid.error!).reason).toBe('VALIDATION_FAILED');
    const checked = await call(credits, 'CheckCredits', request);
    expect(checked.error).toBeNull();
    expect(checked.value).toMatchObject({ userId, required: 1, available: 10, sufficient: true });
    expect((await balances(stack.db, userId))[0]).toMatchObject({ used: 0 });
  });

  it('answers the standard health check', async () => {
    for (const service of ['', 'durable_billing.credits.v1.CreditsService']) {
      const answer = await call(health, 'Check', { service }, new grpc.Metadata());
      expect(answer.error).toBeNull();
      expect(answer.value.status).toBe('SERVING');
    }
    const unknown = await call(health, 'Check', { service: 'no.such.Service' }, new grpc.Metadata());
    expect(unknown.error?.code).toBe(grpc.status.NOT_FOUND);
  });

  it('lists the services and their descriptors through server reflection', async () => {
    const ask = (request: object) =>
      new Promise<any>((resolve, reject) => {
        const stream = reflection.ServerReflectionInfo();
        stream.on('data', (answer: unknown) => {
          resolve(answer);
          stream.end();
        });
        stream.on('error', reject);
        stream.write(request);
      });
    const listed = await ask({ listServices: '*' });
    expect(listed.listServicesResponse.service.map((s: { name: string }) => s.name)).toEqual(
      expect.arrayContaining(['durable_billing.credits.v1.CreditsService', 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection']),
    );
    const file = await ask({ fileContainingSymbol: 'durable_billing.credits.v1.CreditsService' });
    const names = file.fileDescriptorResponse.fileDescriptorProto.map((bytes: Buffer) => {
      const reader = new BinaryReader(bytes);
      const [field] = reader.tag(); // FileDescriptorProto.name is field 1, written first
      return field === 1 ? reader.string() : undefined;
    });
    expect(names).toEqual(['durable_billing/credits/v1/credits.proto', 'google/protobuf/struct.proto']);
    const missing = await ask({ fileContainingSymbol: 'no.such.Symbol' });
    expect(missing.errorResponse.errorCode).toBe(grpc.status.NOT_FOUND);
  });
});

describe.each([
  ['gRPC-Web', () => createGrpcWebTransport({ baseUrl, httpVersion: '1.1' })],
  ['Connect', () => createConnectTransport({ baseUrl, httpVersion: '1.1' })],
])('the same port over %s (HTTP/1.1, ConnectRPC)', (_protocol, transport: () => Transport) => {
  it('deducts and replays under the same idempotency key, and refuses with the same code and ErrorInfo as gRPC', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 3);
    const credits = createClient(CreditsService, transport());
    const headers = { authorization: `Bearer ${SERVICE_KEY}`, 'idempotency-key': `web-${randomUUID()}` };
    const first = await credits.deductCredits({ userId, actionKey: 'pdf_export', quantity: 2 }, { headers });
    expect(first.consumption).toMatchObject({ userId, quantity: 2, creditsCost: 2n });
    const replayHeaders = new Headers();
    const again = await credits.deductCredits({ userId, actionKey: 'pdf_export', quantity: 2 }, { headers, onHeader: (h) => h.forEach((v, k) => replayHeaders.set(k, v)) });
    expect(again).toMatchObject({ replayed: true, consumption: { id: first.consumption!.id } });
    expect(replayHeaders.get('idempotent-replayed')).toBe('true');

    const refused = await credits
      .deductCredits({ userId, actionKey: 'pdf_export', quantity: 5 }, { headers: { ...headers, 'idempotency-key': randomUUID() } })
      .then(() => undefined, (error: unknown) => ConnectError.from(error));
    expect(refused?.code).toBe(Code.FailedPrecondition);
    expect(refused?.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: 'INSUFFICIENT_CREDITS', domain: 'durable-billing', metadata: { httpStatus: '402' } });

    const health = createClient(Health, transport());
    expect((await health.check({ service: 'durable_billing.credits.v1.CreditsService' })).status).toBe(1); // SERVING
    expect((await balances(stack.db, userId))[0]).toMatchObject({ used: 2, available: 1 });
  });
});

describe('the API program with GRPC_PORT', () => {
  it('serves gRPC on that port beside HTTP, and opens no such port without it', async () => {
    const [httpPort, grpcPort] = [await findFreePort(), await findFreePort()];
    const lines: string[] = [];
    const env = (grpc: Record<string, string>) => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LOG_LEVEL: 'info',
      DATABASE_URL: process.env.TEST_DATABASE_URL,
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      SERVICE_API_KEYS: SERVICE_KEY,
      ADMIN_API_KEYS: ADMIN_KEY,
      USER_TOKEN_SECRET,
      EVENTS_RELAY_ENABLED: 'false',
      SCHEDULES_ENABLED: 'false',
      PORT: String(httpPort),
      ...grpc,
    });
    const api = startProcess({ name: 'api', command: process.execPath, args: ['--import', 'tsx', 'api/main.ts'], cwd: `${__dirname}/..`, env: env({ GRPC_PORT: String(grpcPort) }), log: (line) => lines.push(line) });
    const client = new loaded.grpc.health.v1.Health(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    try {
      await waitFor(() => lines.some((line) => line.includes('grpc listening')), 60_000, 'grpc listening');
      const answer = await call(client, 'Check', { service: 'durable_billing.credits.v1.CreditsService' }, new grpc.Metadata());
      expect(answer.error).toBeNull();
      expect(answer.value.status).toBe('SERVING');
    } finally {
      client.close();
      await api.stop();
    }
    // Without GRPC_PORT the API starts as before and logs no gRPC listener.
    const plain: string[] = [];
    const withoutGrpc = startProcess({ name: 'api-plain', command: process.execPath, args: ['--import', 'tsx', 'api/main.ts'], cwd: `${__dirname}/..`, env: env({}), log: (line) => plain.push(line) });
    try {
      await waitFor(() => plain.some((line) => line.includes('api listening')), 60_000, 'api listening');
      expect(plain.join('\n')).not.toContain('grpc listening');
      const refused = await new Promise<boolean>((resolve) => {
        const socket = connect(grpcPort, '127.0.0.1');
        socket.once('connect', () => (socket.destroy(), resolve(false)));
        socket.once('error', () => resolve(true));
      });
      expect(refused).toBe(true);
    } finally {
      await withoutGrpc.stop();
    }
  });
});
