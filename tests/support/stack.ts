/**
 * The system under test, assembled from real parts: PostgreSQL, a Temporal server, a worker running
 * this project's workflows and activities, and the Express API listening on a free port.
 * Each test file gets its own task queue, so files running in parallel never share workers.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { SignJWT } from 'jose';
import { createApp } from '../../api/app';
import { CredentialRateLimits } from '../../api/edge';
import type { ConsoleOptions } from '../../api/console';
import { Authenticator } from '../../api/auth';
import { answerParserErrorsWithEnvelope, keepIdleConnectionsLongerThanClients } from '../../api/server';
import type { ApiDeps } from '../../api/deps';
import { edgeConfigSchema, type EdgeConfig } from '../../modules/config';
import { createDatabase, type Database } from '../../platform/database';
import { createDependencyHealth } from '../../platform/dependency-health';
import { TEMPORAL_CHANNEL_ARGS } from '../../platform/temporal';
import { createLogger } from '../../platform/logger';
import type { Tracing } from '../../platform/tracing';
import { createBillingWorker } from '../../worker/create-worker';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client';
import { Resource } from '@opentelemetry/resources';
import { NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { applyMovements } from '../../modules/credits/ledger';
import { afterBalanceChange } from '../../modules/credits/events';
import { DeductBatcher, type DeductBatchOptions } from '../../modules/credits/deduct-batch';
import { creditsConfigShape } from '../../modules/credits/config';
import { lifecycleConfigShape } from '../../modules/lifecycle/config';
import { lifecycleTimerSettings } from '../../modules/lifecycle/timers';
import { z } from 'zod';
import type { Store } from 'express-rate-limit';
import { expectDocumentedResponse } from './openapi-conformance';
import { OrderWorkflowClient } from '../../modules/orders/workflow-client';
import type { PaymentsDeps } from '../../modules/payments/deps';
import { createStripeClient } from '../../modules/payments/stripe';

export const STRIPE_WEBHOOK_SECRET = 'whsec_test_secret';

export const SERVICE_KEY = 'test-service-key-0123456789abcdef';
export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';
/** A second business service: its keys and reservations are its own. */
export const OTHER_SERVICE_KEY = 'test-other-service-key-0123456789abcdef';
export const USER_TOKEN_SECRET = 'test-user-token-secret-0123456789abcdef';

export type Caller = 'anonymous' | 'service' | 'other-service' | 'admin' | { user: string };

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface TestStack {
  db: Database;
  temporal: Client;
  taskQueue: string;
  deps: ApiDeps;
  baseUrl: string;
  /** The API's rate limits: a gRPC server made for this stack counts against the same budgets. */
  rateLimits: CredentialRateLimits;
  worker: Worker | null;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  call<T = any>(
    method: string,
    path: string,
    options?: { as?: Caller; body?: unknown; idempotencyKey?: string | null; rawBody?: string; headers?: Record<string, string> },
  ): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Deducts' group commit (on with the production defaults unless given; false: each deduct alone). */
  groupCommit?: false | DeductBatchOptions;
  holdDefaultSeconds?: number;
  holdMaxSeconds?: number;
  refundWindowDays?: number;
  withWorker?: boolean;
  callTimeoutMs?: number;
  /** Unpaid orders expire after this many seconds (default 1800). */
  orderExpirySeconds?: number;
  /** Order workflow step retries (default: 3 attempts, 200 ms apart, so failures compensate quickly). */
  orderStepAttempts?: number;
  /** Another Temporal server than the suite's (e.g. one with special dynamic config). */
  temporalAddress?: string;
  /** Another PostgreSQL or database than the suite's (a fault test stops and restarts one; the fuzzer's own keeps its data apart). */
  databaseUrl?: string;
  commitGraceMs?: number;
  /** The API's edge settings; by default the documented ones with every rate limit off (tests are not throttled). */
  edge?: Partial<EdgeConfig>;
  /** The rate limiter's store (default: express-rate-limit's in-memory one). */
  rateLimitStore?: Store;
  /** Trace API calls, workflows and activities into this (platform/tracing.ts). */
  tracing?: Tracing;
  /** `host:port` for the Temporal SDK's Prometheus exporter; applies to the first stack of a test file (one Runtime per process). */
  sdkMetricsAddress?: string;
  /** LIFECYCLE_REMINDER_LEAD_DAYS of the API and the worker (default: the documented default). */
  reminderLeadDays?: number[];
  /** Serve this built console at /console (api/console.ts); default: console/dist, if built. */
  console?: ConsoleOptions;
  /** Another stack's task queue (a restored database's API and worker take over its workflows); default: a new one. */
  taskQueue?: string;
}

/** The suite's workflow bundle always contains the tracing interceptors, so an untraced worker gets a sink that drops spans. */
const untraced = { resource: Resource.empty(), spanProcessor: new NoopSpanProcessor() };

export async function userToken(userId: string, secret = USER_TOKEN_SECRET): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(secret));
}

let runtimeInstalled = false;

export async function startStack(options: StackOptions = {}): Promise<TestStack> {
  if (!runtimeInstalled) {
    // Worker lifecycle chatter at INFO would bury test output.
    Runtime.install({
      logger: new DefaultLogger((process.env.TEST_TEMPORAL_LOG_LEVEL as 'WARN' | undefined) ?? 'WARN'),
      ...(options.sdkMetricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: options.sdkMetricsAddress, countersTotalSuffix: true, useSecondsForDurations: true } } } } : {}),
    });
    runtimeInstalled = true;
  }
  const databaseUrl = options.databaseUrl ?? requiredEnv('TEST_DATABASE_URL');
  const temporalAddress = options.temporalAddress ?? requiredEnv('TEST_TEMPORAL_ADDRESS');
  const bundlePath = requiredEnv('TEST_WORKFLOW_BUNDLE');
  const taskQueue = options.taskQueue ?? `test-${randomUUID()}`;
  const db = createDatabase(databaseUrl, 40);
  const clientConnection = await Connection.connect({ address: temporalAddress, channelArgs: TEMPORAL_CHANNEL_ARGS });
  const temporal = new Client({
    connection: clientConnection,
    namespace: 'default',
    ...(options.tracing ? { interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } } : {}),
  });
  const logger = createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const config = {
    TEMPORAL_TASK_QUEUE: taskQueue,
    RESERVATION_DEFAULT_HOLD_SECONDS: options.holdDefaultSeconds ?? 900,
    RESERVATION_MAX_HOLD_SECONDS: options.holdMaxSeconds ?? 86_400,
    REFUND_WINDOW_DAYS: options.refundWindowDays ?? 7,
    REFUND_GRACE_DAYS: 30,
    RESERVATION_CALL_TIMEOUT_MS: options.callTimeoutMs ?? 30_000,
    COMMIT_GRACE_MS: options.commitGraceMs ?? 60_000,
    DEFAULT_PACKAGE_CODE: 'new_user_trial',
    SCHEDULE_ID_PREFIX: `test-${taskQueue}-`,
    LIFECYCLE_REMINDER_LEAD_DAYS: options.reminderLeadDays ?? z.object(lifecycleConfigShape).parse({}).LIFECYCLE_REMINDER_LEAD_DAYS,
  };
  const payments: PaymentsDeps = {
    stripe: createStripeClient({ secretKey: 'sk_test_123', apiBase: requiredEnv('TEST_STRIPE_API_BASE') }),
    stripeWebhookSecret: STRIPE_WEBHOOK_SECRET,
    publicBaseUrl: 'http://127.0.0.1', // set to the API's address once it listens
    orderExpirySeconds: options.orderExpirySeconds ?? 1800,
  };
  const orders = new OrderWorkflowClient({
    temporal,
    taskQueue,
    callTimeoutMs: options.callTimeoutMs ?? 30_000,
    workflowOptions: { maxStepAttempts: options.orderStepAttempts ?? 3, retryBaseMs: 200 },
  });
  const health = createDependencyHealth({ db, temporal }, logger, { retryAfterSeconds: 1, probeIntervalMs: 500 });
  const deps: ApiDeps = {
    db,
    temporal,
    config,
    payments,
    orders,
    health,
    deducts: options.groupCommit === false ? undefined : new DeductBatcher(db, options.groupCommit ?? defaultGroupCommit()),
    authenticator: new Authenticator({ serviceKeys: [SERVICE_KEY, OTHER_SERVICE_KEY], adminKeys: [ADMIN_KEY], userTokenSecret: USER_TOKEN_SECRET }),
  };
  const edge = { ...edgeConfigSchema.parse({}), RATE_LIMIT_SERVICE: 0, RATE_LIMIT_USER: 0, RATE_LIMIT_ADMIN: 0, RATE_LIMIT_ANONYMOUS: 0, ...options.edge };
  const rateLimits = new CredentialRateLimits(edge, deps.authenticator, options.rateLimitStore);
  const server: Server = await new Promise((resolve) => {
    const listening = createApp(deps, logger, {
      config: edge,
      rateLimits,
      ...(options.console ? { console: options.console } : {}),
    }).listen(0, '127.0.0.1', () => resolve(listening));
    answerParserErrorsWithEnvelope(listening, logger);
    keepIdleConnectionsLongerThanClients(listening);
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  payments.publicBaseUrl = baseUrl;

  let workerConnection: NativeConnection | null = null;
  let running: Promise<void> | null = null;
  const stack: TestStack = {
    db,
    temporal,
    taskQueue,
    deps,
    baseUrl,
    rateLimits,
    worker: null,
    async startWorker() {
      workerConnection ??= await NativeConnection.connect({ address: temporalAddress });
      const worker = await createBillingWorker({
        connection: workerConnection,
        namespace: 'default',
        taskQueue,
        db,
        refundGraceDays: 30,
        payments,
        workflowBundle: { codePath: bundlePath },
        tracing: options.tracing ?? untraced,
        timerSettings: lifecycleTimerSettings(config),
      });
      stack.worker = worker;
      running = worker.run();
    },
    async stopWorker() {
      if (!stack.worker) return;
      stack.worker.shutdown();
      await running;
      stack.worker = null;
      running = null;
    },
    async call(method, path, callOptions = {}) {
      const headers: Record<string, string> = {};
      const as = callOptions.as ?? 'service';
      if (as === 'service') headers.authorization = `Bearer ${SERVICE_KEY}`;
      else if (as === 'other-service') headers.authorization = `Bearer ${OTHER_SERVICE_KEY}`;
      else if (as === 'admin') headers.authorization = `Bearer ${ADMIN_KEY}`;
      else if (as !== 'anonymous') headers.authorization = `Bearer ${await userToken(as.user)}`;
      if (callOptions.idempotencyKey !== null && method !== 'GET') {
        headers['idempotency-key'] = callOptions.idempotencyKey ?? randomUUID();
      }
      let body: string | undefined = callOptions.rawBody;
      if (callOptions.body !== undefined) body = JSON.stringify(callOptions.body);
      if (body !== undefined) headers['content-type'] = 'application/json';
      Object.assign(headers, callOptions.headers);
      const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
      const text = await response.text();
      let parsed: unknown = text;
      const contentType = response.headers.get('content-type') ?? '';
      if (contentType.includes('application/json')) parsed = JSON.parse(text);
      expectDocumentedResponse(method, path, response.status, contentType, parsed);
      return { status: response.status, body: parsed as any, headers: response.headers };
    },
    async close() {
      await stack.stopWorker();
      health.close();
      await new Promise((resolve) => server.close(resolve));
      await workerConnection?.close();
      await clientConnection.close();
      await db.$disconnect();
    },
  };
  if (options.withWorker !== false) await stack.startWorker();
  return stack;
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite with \`npm test\` (jest globalSetup starts the services).`);
  return value;
}

export function newUserId(label = 'user'): string {
  return `${label}-${randomUUID()}`;
}

/** Gives a user a grant directly (as an admin assignment would), with its ledger entry and the balance-low rule's note of the rise. */
export async function grantCredits(
  db: Database,
  userId: string,
  credits: number,
  overrides: { priority?: number; expiresAt?: Date | null; startsAt?: Date; status?: 'active' | 'pending'; createdAt?: Date } = {},
): Promise<string> {
  return db.$transaction(async (tx) => {
    const grant = await tx.userPackage.create({
      data: {
        userId,
        source: 'gift',
        status: overrides.status ?? 'active',
        totalCredits: 0,
        priority: overrides.priority ?? 100,
        startsAt: overrides.startsAt ?? new Date(Date.now() - 60_000),
        expiresAt: overrides.expiresAt ?? null,
        ...(overrides.createdAt ? { createdAt: overrides.createdAt } : {}),
      },
    });
    await applyMovements(tx, { userId, referenceType: 'grant', referenceId: grant.id, actor: 'test' }, [
      { grantId: grant.id, entryType: 'grant', amount: credits },
    ]);
    await afterBalanceChange(tx, userId);
    return grant.id;
  });
}

export interface GrantBalanceRow {
  id: string;
  status: string;
  total: number;
  used: number;
  reserved: number;
  available: number;
}

export async function balances(db: Database, userId: string): Promise<GrantBalanceRow[]> {
  const grants = await db.userPackage.findMany({ where: { userId }, orderBy: [{ priority: 'asc' }, { createdAt: 'asc' }] });
  return grants.map((g) => ({
    id: g.id,
    status: g.status,
    total: g.totalCredits,
    used: g.usedCredits,
    reserved: g.reservedCredits,
    available: g.totalCredits - g.usedCredits - g.reservedCredits,
  }));
}

/**
 * The ledger invariant, checked after every scenario: for every grant, available = total - used -
 * reserved >= 0, and its ledger entries sum to available, reserved and used.
 */
export async function expectLedgerInvariant(db: Database, userId?: string): Promise<void> {
  const rows = await db.$queryRaw<
    Array<{ id: string; total: number; used: number; reserved: number; ledger_available: number; ledger_reserved: number; ledger_used: number }>
  >`
    SELECT g.id, g.total_credits AS total, g.used_credits AS used, g.reserved_credits AS reserved,
           COALESCE(SUM(l.amount), 0)::int AS ledger_available,
           COALESCE(SUM(l.reserved_delta), 0)::int AS ledger_reserved,
           COALESCE(SUM(l.used_delta), 0)::int AS ledger_used
    FROM user_packages g LEFT JOIN credit_ledger_entries l ON l.user_package_id = g.id
    WHERE ${userId ?? null}::text IS NULL OR g.user_id = ${userId ?? null}::text
    GROUP BY g.id`;
  const broken = rows.filter(
    (r) =>
      r.total - r.used - r.reserved < 0 ||
      r.ledger_available !== r.total - r.used - r.reserved ||
      r.ledger_reserved !== r.reserved ||
      r.ledger_used !== r.used,
  );
  expect(broken).toEqual([]);
}

/** The production defaults of the deducts' group commit (modules/credits/config.ts). */
function defaultGroupCommit(): DeductBatchOptions {
  const defaults = z.object(creditsConfigShape).parse({});
  return { maxGroupSize: defaults.DEDUCT_GROUP_MAX_SIZE, maxGroupsInFlight: defaults.DEDUCT_GROUPS_IN_FLIGHT };
}
