/**
 * The credits service's calls, whichever server carries them (api/grpc/server.ts): each runs its
 * route as the HTTP endpoint would, from the call's metadata and request message, and answers the
 * response message or throws the refusal (a BillingError, mapped by each server to its protocol's
 * error: api/grpc/errors.ts).
 *
 * The edge the HTTP requests pass (api/edge.ts) applies here too, once per call: the caller's rate
 * limit, counted in the same budget as its HTTP requests, and the request metrics, under the route
 * `grpc /<service>/<method>`.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { JsonValue } from '@bufbuild/protobuf';
import type { Request } from 'express';
import type { BillingError } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import { apiRefusals } from '../../platform/metrics';
import type { Principal } from '../auth';
import type { ApiDeps } from '../deps';
import { rateLimitIdentity, RequestDurationSeries, type CredentialRateLimits } from '../edge';
import { authorize, parsePart, routeIdempotency, type RouteDefinition } from '../route';
import { internalRoutes } from '../routes/internal';
import { refusalFrom } from './errors';
import { creditsMethods, type RouteAnswer } from './methods';
import { CreditsService } from './gen/durable_billing/credits/v1/credits_pb';

/** What a call carries besides its message (gRPC metadata, or Connect's headers). */
export interface CallMetadata {
  authorization: string | undefined;
  idempotencyKey: string | undefined;
  /** The connection's remote address: what a call without a valid credential is rate limited by. */
  peerAddress: string | undefined;
}

export interface CallAnswer {
  response: unknown;
  /** An idempotent replay: the servers add `idempotent-replayed: true` to the response headers. */
  replayed: boolean;
}

/** One method: its request message and metadata in, its response message out; refusals throw a BillingError. */
export type CreditsCall = (request: never, metadata: CallMetadata) => Promise<CallAnswer>;

/** Handlers served over gRPC read the logger from `log`; reading the Express request is a bug, made loud. */
const noExpressRequest = new Proxy({} as Request, {
  get(_target, property) {
    throw new Error(`a route served over gRPC read req.${String(property)}; use the context's log instead`);
  },
});

/** Runs a route as its HTTP endpoint would, from the call's metadata and the mapped request parts. */
async function callRoute(
  route: RouteDefinition,
  deps: ApiDeps,
  limits: CredentialRateLimits,
  log: () => Logger,
  metadata: CallMetadata,
  parts: { params?: unknown; body?: unknown },
): Promise<RouteAnswer> {
  const principal = await admittedCaller(deps, limits, metadata);
  deps.health.database.assertAvailable();
  authorize(route, principal);
  const params = route.params ? parsePart(route.params, parts.params, 'params') : undefined;
  const body = route.body ? parsePart(route.body, parts.body, 'body') : undefined;
  const idempotency = routeIdempotency(route, principal, metadata.idempotencyKey, params, body);
  const result = await route.handler({
    params,
    query: undefined,
    body,
    principal,
    idempotency,
    deps,
    get log() {
      return log();
    },
    req: noExpressRequest,
    rawBody: undefined,
  });
  if ('stream' in result) throw new Error(`route ${route.operationId} streams; it cannot be served over gRPC`);
  // `body` is the answer as JSON values (a stored answer's `bodyText` parsed): no second parse of the text.
  return { body: result.body as JsonValue, replayed: result.replayed === true };
}

/**
 * The caller, authenticated once, after its call is counted against its rate limit as an HTTP request
 * would be (api/edge.ts): by credential, or by address when the credential is missing or invalid (that
 * refusal is answered once the call is counted, as over HTTP). Throws RATE_LIMITED over the limit.
 */
async function admittedCaller(deps: ApiDeps, limits: CredentialRateLimits, metadata: CallMetadata): Promise<Principal | undefined> {
  let principal: Principal | undefined;
  let invalidCredential: unknown;
  try {
    principal = await deps.authenticator.authenticate(metadata.authorization);
  } catch (error) {
    invalidCredential = error;
  }
  await limits.admit(rateLimitIdentity(principal, metadata.peerAddress));
  if (invalidCredential !== undefined) throw invalidCredential;
  return principal;
}

/** Every call goes out as an HTTP POST, whichever of the three protocols carries it: the method label of its metrics. */
const GRPC_METRICS_METHOD = 'POST';

/** The credits service's calls by method local name (`deductCredits`), each running its route (api/grpc/methods.ts). */
export function creditsCalls(deps: ApiDeps, logger: Logger, limits: CredentialRateLimits): Map<string, CreditsCall> {
  const series = new RequestDurationSeries();
  const routeById = new Map(internalRoutes.map((route) => [route.operationId, route]));
  const calls = new Map<string, CreditsCall>();
  for (const [name, mapping] of Object.entries(creditsMethods)) {
    const route = routeById.get(mapping.operationId);
    if (!route) throw new Error(`gRPC method ${name} names no route ${mapping.operationId}`);
    const rpc = `${CreditsService.typeName}/${CreditsService.method[name as keyof typeof CreditsService.method].name}`;
    const toParts = mapping.request as (message: never) => { params?: unknown; body?: unknown };
    const toResponse = mapping.response as (answer: RouteAnswer) => unknown;
    const metricsRoute = `grpc /${rpc}`;
    calls.set(name, async (request, metadata) => {
      const started = performance.now();
      // Built only when something logs (most calls log nothing), as the HTTP request's logger.
      let callLog: Logger | undefined;
      const log = () => (callLog ??= logger.child({ req: { id: randomUUID(), rpc } }));
      try {
        const answer = await callRoute(route, deps, limits, log, metadata, toParts(request));
        series.of(metricsRoute, GRPC_METRICS_METHOD, 200).observe((performance.now() - started) / 1000);
        return { response: toResponse(answer), replayed: answer.replayed };
      } catch (error) {
        const refusal = await refusalFrom(error, deps.health, log());
        recordRefusal(series, metricsRoute, refusal, started);
        throw refusal;
      }
    });
  }
  return calls;
}

/**
 * A refused call in the request metrics as its HTTP request would be: under the status HTTP answers its
 * code with, and (unless it is an unexpected error) in the refusals by stable code.
 */
function recordRefusal(series: RequestDurationSeries, route: string, refusal: BillingError, started: number): void {
  series.of(route, GRPC_METRICS_METHOD, refusal.httpStatus).observe((performance.now() - started) / 1000);
  if (refusal.code !== 'INTERNAL') apiRefusals.inc({ method: GRPC_METRICS_METHOD, route, code: refusal.code });
}
