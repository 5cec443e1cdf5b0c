import { z } from 'zod';
import { splitProtoHostPort } from '@temporalio/common/lib/internal-non-workflow';
import { DEV_STRIPE_SECRET_KEY, paymentsConfigShape } from './payments';
import { lifecycleConfigShape } from './lifecycle';
import { creditsConfigShape } from './credits';
import { invoicesConfigShape } from './invoices';
import { retentionConfigShape } from './retention';
import { envWholeNumber } from '../platform/schemas';

/**
 * All configuration comes from the environment and is validated here, once, at start.
 * A bad value stops the process with a message naming the variable.
 */

const commaList = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean));

const secretKeys = commaList.pipe(z.array(z.string().min(16, 'each key must be at least 16 characters')).min(1));

const databaseUrl = z
  .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' })
  .refine((value) => !URL.canParse(value) || new URL(value).hostname !== '', 'must name a host, e.g. postgresql://user@localhost:5432/db');

/** What the Temporal SDK accepts as a frontend address (its own parser): `host` or `host:port`, no scheme. */
function isTemporalAddress(value: string): boolean {
  const parts = splitProtoHostPort(value);
  return parts !== undefined && parts.scheme === undefined && !/\s/.test(value) && (parts.port === undefined || (parts.port >= 1 && parts.port <= 65535));
}

const temporalAddress = z.string().refine(isTemporalAddress, 'must be host:port of the Temporal frontend, e.g. 127.0.0.1:7233 (no scheme)');

/** What every process needs: the worker uses only this. */
const baseConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: databaseUrl,
  DATABASE_POOL_SIZE: envWholeNumber({ min: 1, max: 200, default: 20 }),
  /** How long opening a database connection may take before the call fails (so no call hangs on a dead server). */
  DATABASE_CONNECT_TIMEOUT_MS: envWholeNumber({ min: 100, max: 120_000, default: 5_000 }),
  TEMPORAL_ADDRESS: temporalAddress.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('billing'),
  /**
   * Workflow runs the worker keeps in memory (~0.5 MiB each). Committed reservations stay open for
   * their refund window, so without a bound the cache would grow with traffic; evicted runs are
   * replayed from history when they next get work.
   */
  WORKER_MAX_CACHED_WORKFLOWS: envWholeNumber({ min: 0, max: 100_000, default: 250 }),
  /** Validity of a replacement grant when refunded credits belong to a grant that has expired meanwhile. */
  REFUND_GRACE_DAYS: envWholeNumber({ min: 1, max: 3650, default: 30 }),
  ...paymentsConfigShape,
  /**
   * OpenTelemetry: traces are exported over OTLP/HTTP when this is set (the standard OTel variable;
   * the exporter also reads the other OTEL_EXPORTER_OTLP_* variables). Unset: no tracer, no cost.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  /** Which traces are recorded (platform/tracing.ts samplerFromEnvironment); unset: parentbased_traceidratio at 0.1. */
  OTEL_TRACES_SAMPLER: z
    .enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'])
    .optional(),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  ...lifecycleConfigShape,
  ...invoicesConfigShape,
  ...retentionConfigShape,
});

/** The worker's metrics endpoint (Temporal SDK metrics + process metrics); unset port = no endpoint. */
const workerConfigSchema = baseConfigSchema.extend({
  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  WORKER_METRICS_PORT: envWholeNumber({ min: 1, max: 65535, default: 0 }).transform((port) => (port === 0 ? undefined : port)),
});

/** Optional positive whole number from the environment; 0 switches the limit off. */
const rateLimit = (fallback: number) => envWholeNumber({ min: 0, max: 1_000_000, default: fallback });

/**
 * The API's edge: rate limits, CORS, body size, proxies, who may read /metrics.
 * Kept apart so tests and embedders can build it with their own values (edgeConfigSchema.parse({})).
 */
export const edgeConfigSchema = z.object({
  /** Length of a rate-limit window. */
  RATE_LIMIT_WINDOW_MS: envWholeNumber({ min: 1000, max: 3_600_000, default: 60_000 }),
  /** Requests per window per service key (business services call a lot: reservations, deducts, checks). */
  RATE_LIMIT_SERVICE: rateLimit(6000),
  /** Requests per window per user (the `sub` of the token, whatever token carries it). */
  RATE_LIMIT_USER: rateLimit(300),
  /** Requests per window per admin key. */
  RATE_LIMIT_ADMIN: rateLimit(600),
  /** Requests per window per client address without a credential (health probes and /metrics are exempt). */
  RATE_LIMIT_ANONYMOUS: rateLimit(120),
  /**
   * A Redis all API replicas share their rate-limit counts in (redis:// or rediss://, with credentials if
   * any). Unset: each replica counts on its own, so N replicas allow N times each limit.
   */
  RATE_LIMIT_REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  /** Express `trust proxy`: how many proxies in front of the API set X-Forwarded-For (0 = trust none). */
  TRUST_PROXY_HOPS: envWholeNumber({ min: 0, max: 10, default: 0 }),
  /** Origins (scheme://host[:port]) a browser may call the user routes (/v1/me/*) from. None by default. */
  CORS_ALLOWED_ORIGINS: commaList
    .pipe(z.array(z.url().refine((value) => new URL(value).origin === value, 'must be an origin like https://app.example.com (no path)')))
    .default([]),
  /** Largest accepted JSON body; larger ones get 413 PAYLOAD_TOO_LARGE. */
  HTTP_BODY_LIMIT_BYTES: envWholeNumber({ min: 1024, max: 10 * 1024 * 1024, default: 64 * 1024 }),
  /** Bearer tokens Prometheus scrapes /metrics with (admin keys work too); read-only, unlike an admin key. */
  METRICS_TOKENS: commaList.pipe(z.array(z.string().min(16, 'each token must be at least 16 characters'))).default([]),
});
export type EdgeConfig = z.infer<typeof edgeConfigSchema>;

/** The API also needs credentials, listening address and reservation bounds. */
const configSchema = baseConfigSchema.extend(edgeConfigSchema.shape).extend(creditsConfigShape).extend({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: envWholeNumber({ min: 0, max: 65535, default: 3000 }),
  /** Port of the gRPC/gRPC-Web/Connect server for the internal credits API (api/grpc/server.ts), on HOST; 0 picks a free one. Unset: off. */
  GRPC_PORT: envWholeNumber({ min: 0, max: 65535, default: -1 }).transform((port) => (port === -1 ? undefined : port)),
  /** Keys for business services calling /v1/internal/*. */
  SERVICE_API_KEYS: secretKeys,
  /** Keys for operators calling /v1/admin/*. */
  ADMIN_API_KEYS: secretKeys,
  /** HMAC secret for user tokens (HS256 JWT, `sub` = user id) minted by the calling service. */
  USER_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters'),
  RESERVATION_DEFAULT_HOLD_SECONDS: envWholeNumber({ min: 1, default: 900 }),
  RESERVATION_MAX_HOLD_SECONDS: envWholeNumber({ min: 1, default: 86_400 }),
  /** How long after commit a reservation's consumption can be refunded through its workflow. */
  REFUND_WINDOW_DAYS: envWholeNumber({ min: 0, max: 365, default: 30 }),
  SHUTDOWN_GRACE_MS: envWholeNumber({ min: 0, default: 10_000 }),
  /**
   * How long a reservation call waits for the workflow's answer (e.g. while no worker runs) before
   * answering 503 SERVICE_UNAVAILABLE; a retry with the same Idempotency-Key is safe.
   */
  RESERVATION_CALL_TIMEOUT_MS: envWholeNumber({ min: 100, max: 600_000, default: 30_000 }),
  /**
   * A commit the API accepted before the hold's deadline still counts if the workflow gets to it
   * (worker down, say) up to this long after the deadline (modules/reservations/rules/commit-time.ts).
   */
  COMMIT_GRACE_MS: envWholeNumber({ min: 0, max: 3_600_000, default: 60_000 }),
  /** Seconds a 503 SERVICE_UNAVAILABLE tells the caller to wait (Retry-After) while a dependency is down. */
  OUTAGE_RETRY_AFTER_SECONDS: envWholeNumber({ min: 1, max: 300, default: 2 }),
  /** The Temporal Web UI's address, for the console's links to workflow runs (api/console.ts); none when unset. */
  TEMPORAL_UI_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Where the built console is (default: console/dist beside the API's code, api/console.ts). */
  CONSOLE_ASSETS_DIR: z.string().min(1).optional(),
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;
export type Config = z.infer<typeof configSchema>;
export type WorkerConfig = z.infer<typeof workerConfigSchema>;

export class ConfigError extends Error {}

/** The development defaults `npm run dev` fills in contain this marker; production refuses them. */
const DEVELOPMENT_SECRET_MARKER = 'change-me';

function parse<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(env)'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config = parse(configSchema, env);
  const problems: string[] = [];
  if (config.RESERVATION_DEFAULT_HOLD_SECONDS > config.RESERVATION_MAX_HOLD_SECONDS) {
    problems.push('  RESERVATION_DEFAULT_HOLD_SECONDS: must not exceed RESERVATION_MAX_HOLD_SECONDS');
  }
  if (config.NODE_ENV === 'production') {
    for (const name of ['SERVICE_API_KEYS', 'ADMIN_API_KEYS', 'USER_TOKEN_SECRET'] as const) {
      if (String(config[name]).includes(DEVELOPMENT_SECRET_MARKER)) problems.push(`  ${name}: development credentials are refused in production`);
    }
  }
  problems.push(...paymentSecretProblems(config));
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  return config;
}

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const config = parse(workerConfigSchema, env);
  const problems = paymentSecretProblems(config);
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  return config;
}

/** Stripe's development defaults (stripe-mock's key, a dev webhook secret) are refused in production. */
function paymentSecretProblems(config: { NODE_ENV: string; STRIPE_SECRET_KEY: string; STRIPE_WEBHOOK_SECRET: string }): string[] {
  if (config.NODE_ENV !== 'production') return [];
  const problems: string[] = [];
  if (config.STRIPE_SECRET_KEY === DEV_STRIPE_SECRET_KEY) problems.push('  STRIPE_SECRET_KEY: the development default is refused in production');
  if (config.STRIPE_WEBHOOK_SECRET.includes(DEVELOPMENT_SECRET_MARKER)) problems.push('  STRIPE_WEBHOOK_SECRET: the development default is refused in production');
  return problems;
}

/** For process entry points: print a readable message and exit instead of a stack trace. */
export function orExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}
