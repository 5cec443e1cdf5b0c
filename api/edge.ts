/**
 * What stands between the internet and the route table: security headers, CORS for the user routes,
 * rate limits per credential, the body size limit and request metrics. Each piece is a well-kept
 * library configured here; api/app.ts puts them in order.
 */
import { performance } from 'node:perf_hooks';
import type { RequestHandler, Request } from 'express';
import { trace } from '@opentelemetry/api';
import cors from 'cors';
import { ipKeyGenerator, MemoryStore, rateLimit, type Store } from 'express-rate-limit';
import helmet from 'helmet';
import { match } from 'path-to-regexp';
import { BillingError } from '../platform/errors';
import type { EdgeConfig } from '../modules/config';
import { apiRefusals, httpRequestDuration } from '../platform/metrics';
import { requestPrincipal, type Authenticator, type Principal } from './auth';
import type { RouteDefinition } from './route';

/**
 * Helmet's defaults (CSP, HSTS, nosniff, frame-ancestors 'none' ...); the Swagger UI page loads only
 * same-origin scripts. Helmet's default headers are the same on every response, so they are computed
 * once, by running helmet against a recorder, and set from that list: helmet's dozen chained
 * middlewares per request cost ~5 % of the API's CPU per deduct.
 */
export function securityHeaders(): RequestHandler {
  const { headers, removed } = helmetHeaders();
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
    next();
  };
}

/** What helmet() sets and removes on a response. Throws if helmet ever needs the request (it would not be constant then). */
function helmetHeaders(): { headers: [string, string][]; removed: string[] } {
  const headers: [string, string][] = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: string) => headers.push([name, value]),
    removeHeader: (name: string) => removed.push(name),
  };
  let completed = false;
  const failure: unknown[] = [];
  helmet()({} as never, recorder as never, (error?: unknown) => {
    if (error) failure.push(error);
    completed = true;
  });
  if (!completed || failure.length > 0) throw new Error(`helmet's headers could not be precomputed: ${String(failure[0] ?? 'next() not called')}`);
  return { headers, removed };
}

/**
 * CORS for the user routes only: they are what a browser calls (with a user token). The internal and
 * admin routes carry service and admin keys, which never belong in a browser, so they send no CORS
 * headers and browsers refuse cross-origin calls to them. No origin is allowed unless listed.
 */
export function userRoutesCors(allowedOrigins: string[]): RequestHandler {
  return cors({
    origin: allowedOrigins,
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'],
    exposedHeaders: ['X-Request-Id', 'Retry-After', 'RateLimit', 'RateLimit-Policy', 'Idempotent-Replayed'],
    maxAge: 600,
  });
}

/** Paths served outside the route table, named as themselves in metrics. */
const FIXED_PATHS = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs', '/docs/init.js', '/docs/assets/swagger-ui.css', '/docs/assets/swagger-ui-bundle.js']);

/**
 * The route template of a request (`/v1/internal/reservations/:reservationId`), never the raw URL:
 * metric labels stay bounded whatever callers send. Requests answered before routing (429, 413) are
 * matched against the route table; anything unknown is `unmatched`.
 */
export function routeTemplates(routes: RouteDefinition[]): (req: Request) => string {
  // decode: false: only the template is wanted, and a malformed percent-encoding must not throw here.
  const matchers = routes.map((route) => ({ method: route.method.toUpperCase(), path: route.path, matches: match(route.path, { decode: false }) }));
  return (req) => {
    if (typeof req.route?.path === 'string') return req.route.path;
    if (FIXED_PATHS.has(req.path)) return req.path;
    if (req.path === '/console' || req.path.startsWith('/console/')) return '/console';
    const found = matchers.find((m) => (m.method === req.method || req.method === 'OPTIONS') && m.matches(req.path));
    return found?.path ?? 'unmatched';
  };
}

/** A histogram's series for one (route, method, status), as prom-client binds it. */
interface BoundObserver {
  observe(value: number): void;
}

/**
 * The request histogram's series, bound once per route template, method and status and kept: a request
 * then observes its latency on a ready series instead of building a label object and its hash (and
 * startTimer's closures). Bounded: route templates (never raw paths) x the methods Node parses x statuses.
 */
export class RequestDurationSeries {
  private readonly byRoute = new Map<string, Map<string, Map<number, BoundObserver>>>();

  constructor(private readonly histogram: { labels(method: string, route: string, status: string): BoundObserver } = httpRequestDuration) {}

  of(route: string, method: string, status: number): BoundObserver {
    let byMethod = this.byRoute.get(route);
    if (!byMethod) this.byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (!series) byStatus.set(status, (series = this.histogram.labels(method, route, String(status))));
    return series;
  }
}

/** Counts and times every request by route template, method and status; names the trace's server span by route. */
export function requestMetrics(templateOf: (req: Request) => string, series = new RequestDurationSeries()): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    const span = trace.getActiveSpan();
    res.once('finish', () => {
      const route = templateOf(req);
      series.of(route, req.method, res.statusCode).observe((performance.now() - started) / 1000);
      // Only a recorded span is worth naming: an unsampled one drops whatever it is given.
      if (span?.isRecording() && route !== 'unmatched') {
        span.setAttribute('http.route', route);
        span.updateName(`${req.method} ${route}`);
      }
    });
    next();
  };
}

/**
 * Error middleware before the error handler: counts every refusal by route and stable code. Errors that
 * are not BillingErrors (malformed JSON, oversized bodies, bugs) are classified by the error handler;
 * they are counted by status in http_request_duration_seconds.
 */
export function refusalMetrics(templateOf: (req: Request) => string): import('express').ErrorRequestHandler {
  return (error, req, _res, next) => {
    if (error instanceof BillingError) apiRefusals.inc({ method: req.method, route: templateOf(req), code: error.code });
    else if (isTooLarge(error)) apiRefusals.inc({ method: req.method, route: templateOf(req), code: 'PAYLOAD_TOO_LARGE' });
    next(error);
  };
}

function isTooLarge(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { type?: unknown }).type === 'entity.too.large';
}

/** The body size limit of express.json as a BillingError, so the envelope can say what the limit is. */
export function bodyTooLarge(limitBytes: number): import('express').ErrorRequestHandler {
  return (error, _req, _res, next) => {
    if (isTooLarge(error)) {
      next(new BillingError('PAYLOAD_TOO_LARGE', `Request body is larger than ${limitBytes} bytes.`, { limitBytes }));
      return;
    }
    next(error);
  };
}

type LimitedRole = Principal['role'] | 'anonymous';

/** Requests a webhook route authenticated by their signature (see rateLimits). */
const verifiedBySignature = new WeakSet<Request>();

/** Called by a webhook route once the request's signature verified: the rate limit then does not count it. */
export function markSignatureVerified(req: Request): void {
  verifiedBySignature.add(req);
}

/** Who a request or call counts against: a credential (by principal id), or without one an address. */
export interface RateLimitIdentity {
  role: LimitedRole;
  key: string;
}

/** A caller's identity for the rate limits: its principal, or its address when it has no valid credential. */
export function rateLimitIdentity(principal: Principal | undefined, address: string | undefined): RateLimitIdentity {
  return principal ? { role: principal.role, key: principal.id } : { role: 'anonymous', key: `ip:${ipKeyGenerator(address ?? 'unknown')}` };
}

/** Whole seconds until a window ends (at least 1), as Retry-After says it. */
function secondsUntil(resetTime: Date | undefined, windowMs: number): number {
  return Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + windowMs) - Date.now()) / 1000));
}

function rateLimited(retryAfterSeconds: number): BillingError {
  return new BillingError('RATE_LIMITED', `Too many requests; retry after ${retryAfterSeconds} s.`, { retryAfterSeconds });
}

/**
 * Rate limits per credential: each service key, each user (by token subject, so minting new tokens
 * does not reset it), each admin key; requests without a credential per client address (set
 * TRUST_PROXY_HOPS behind a proxy). A request with an invalid credential counts against its address
 * (the route then answers 401). Probes and /metrics are not limited.
 *
 * One budget per credential and window, whichever door a call comes through: the HTTP API (`http`,
 * express-rate-limit) and the gRPC port (`admit`, api/grpc/credits.ts: gRPC, gRPC-Web and Connect)
 * count in the same store under the same keys, so a caller cannot add the gRPC port's allowance to
 * the HTTP one. Build one per process and hand it to both (api/main.ts).
 *
 * Payment webhooks carry no credential header: their credential is the signature over the body,
 * known only once the route verified it. So they count against their address on arrival like any
 * anonymous request (an address over its budget is refused before its body is read or any database
 * work), and one whose signature verified is taken off the count when it is answered: a sale peak of
 * signed deliveries from a handful of provider addresses is never throttled, a flood of unsigned ones is.
 *
 * The default store is in memory: each API replica counts on its own (N replicas allow N times the
 * limit). RATE_LIMIT_REDIS_URL shares the count across replicas (api/rate-limit-store.ts, `rate-limit-redis`);
 * embedders may pass any other express-rate-limit store: see docs/operations.md.
 */
export class CredentialRateLimits {
  /** The Express middleware (api/app.ts). */
  readonly http: RequestHandler;
  private readonly limits: Record<LimitedRole, number>;
  private readonly windowMs: number;

  constructor(
    config: EdgeConfig,
    authenticator: Authenticator,
    /** Kept by the instance: express-rate-limit initialises it (once, in `http`'s making) and the gRPC port increments it. */
    private readonly store: Store = new MemoryStore(),
  ) {
    this.limits = { service: config.RATE_LIMIT_SERVICE, user: config.RATE_LIMIT_USER, admin: config.RATE_LIMIT_ADMIN, anonymous: config.RATE_LIMIT_ANONYMOUS };
    this.windowMs = config.RATE_LIMIT_WINDOW_MS;
    this.http = this.httpLimiter(config, authenticator);
  }

  /**
   * Counts one gRPC call against its caller's budget (one store increment, as an HTTP request) and
   * throws RATE_LIMITED (details.retryAfterSeconds) when it is over. A store that fails lets the call
   * through, as over HTTP.
   */
  async admit(identity: RateLimitIdentity): Promise<void> {
    const limit = this.limits[identity.role];
    if (limit === 0) return;
    let counted: { totalHits: number; resetTime: Date | undefined };
    try {
      counted = await this.store.increment(identity.key);
    } catch {
      // As passOnStoreError below: a shared store that is down (Redis restarting; its client logs it) does not fail calls.
      return;
    }
    if (counted.totalHits > limit) throw rateLimited(secondsUntil(counted.resetTime, this.windowMs));
  }

  private httpLimiter(config: EdgeConfig, authenticator: Authenticator): RequestHandler {
    const identify = async (req: Request): Promise<RateLimitIdentity> => {
      const cached = (req as { rateLimitIdentity?: RateLimitIdentity }).rateLimitIdentity;
      if (cached) return cached;
      let principal: Principal | undefined;
      try {
        principal = await requestPrincipal(authenticator, req);
      } catch {
        principal = undefined; // invalid credential: limited by address; the route answers 401
      }
      const identity = rateLimitIdentity(principal, req.ip);
      (req as { rateLimitIdentity?: unknown }).rateLimitIdentity = identity;
      return identity;
    };
    return rateLimit({
      windowMs: config.RATE_LIMIT_WINDOW_MS,
      limit: async (req) => this.limits[(await identify(req)).role],
      keyGenerator: async (req) => (await identify(req)).key,
      skip: async (req) => FIXED_PATHS.has(req.path) || req.path.startsWith('/docs') || this.limits[(await identify(req)).role] === 0,
      skipSuccessfulRequests: true,
      requestWasSuccessful: (req) => verifiedBySignature.has(req),
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      store: this.store,
      // A shared store that is down (Redis restarting) lets requests through rather than failing them: the
      // limits protect capacity, the credit engine keeps balances right either way.
      passOnStoreError: true,
      handler: (req, res, next) => {
        const resetTime = (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
        const retryAfterSeconds = secondsUntil(resetTime, this.windowMs);
        res.setHeader('Retry-After', String(retryAfterSeconds));
        next(rateLimited(retryAfterSeconds));
      },
    });
  }
}
