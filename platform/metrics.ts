import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { BillingError } from './errors';

/**
 * The process's Prometheus metrics (prom-client): one registry per process, read by the API's
 * `GET /metrics` and the worker's metrics endpoint. docs/operations.md → Metrics lists the series.
 *
 * Extension point: a feature defines its own series in its own folder with `metricsRegistry`
 * (e.g. `modules/events/metrics.ts`: `outcomeCounter('billing_webhook_deliveries_total', ...)`), so this
 * file does not grow with every feature.
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

/** A counter of outcomes labelled by what happened: the shape every feature's outcome series takes. */
export function outcomeCounter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
  return new Counter({ name, help, labelNames, registers: [metricsRegistry] });
}

export const httpRequestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP requests by route template (never the raw URL), method and status, with their latency; gRPC port calls as route "grpc /<service>/<method>".',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [metricsRegistry],
});

export const apiRefusals = outcomeCounter(
  'billing_api_refusals_total',
  'Requests the API refused, by route template and stable error code (VALIDATION_FAILED, INSUFFICIENT_CREDITS, RATE_LIMITED, ...).',
  ['method', 'route', 'code'] as const,
);

export type OperationOutcome = 'ok' | 'refused' | 'error';

const creditOperations = outcomeCounter(
  'billing_credit_operations_total',
  'Credit-engine operations by type (deduct, holdCredits, commitReservation, ...) and outcome; refusals carry their error code.',
  ['operation', 'outcome', 'code'] as const,
);

export function recordCreditOperation(operation: string, outcome: OperationOutcome, code = ''): void {
  creditOperations.inc({ operation, outcome, code });
}

/** Runs one credit operation and counts its outcome: a BillingError is a refusal (with its code), anything else an error. */
export async function countCreditOperation<T>(operation: string, work: () => Promise<T>): Promise<T> {
  try {
    const result = await work();
    recordCreditOperation(operation, 'ok');
    return result;
  } catch (error) {
    if (error instanceof BillingError) recordCreditOperation(operation, 'refused', error.code);
    else recordCreditOperation(operation, 'error');
    throw error;
  }
}

/**
 * How long a value read from the database at scrape time is reused. Prometheus scrapes every 15-60 s, but
 * several scrapers (HA pairs, ad-hoc curls, a 1 s bench) must not multiply the database's work: with this
 * the gauges cost at most one read per interval per process, whatever the scrape rate.
 */
export const SCRAPE_READ_TTL_MS = 5_000;

/**
 * `read`, shared: callers within `ttlMs` of the last completed read get its value, concurrent callers share
 * the read in flight. A failed read (database down) gives undefined and is retried on the next call.
 */
export function cachedRead<T>(read: () => Promise<T>, options: { ttlMs?: number; now?: () => number } = {}): () => Promise<T | undefined> {
  const ttlMs = options.ttlMs ?? SCRAPE_READ_TTL_MS;
  const now = options.now ?? Date.now;
  let last: { value: T; at: number } | undefined;
  let pending: Promise<T | undefined> | undefined;
  return () => {
    if (last && now() - last.at < ttlMs) return Promise.resolve(last.value);
    return (pending ??= read()
      .then(
        (value) => {
          last = { value, at: now() };
          return value;
        },
        () => undefined,
      )
      .finally(() => {
        pending = undefined;
      }));
  };
}

/** A gauge read from elsewhere (e.g. the database) when scraped. */
export function sampledGauge<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  collect: (gauge: Gauge<L>) => Promise<void>,
): Gauge<L> {
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [metricsRegistry],
    async collect() {
      await collect(this);
    },
  });
}
