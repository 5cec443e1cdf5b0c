/**
 * The credits service's calls, whichever server carries them (api/grpc/server.ts): each runs its
 * route as the HTTP endpoint would, from the call's metadata and request message, and answers the
 * response message or throws the refusal (a BillingError, mapped by each server to its protocol's
 * error: api/grpc/errors.ts).
 */
import { randomUUID } from 'node:crypto';
import type { JsonValue } from '@bufbuild/protobuf';
import type { Request } from 'express';
import type { Logger } from '../../platform/logger';
import type { ApiDeps } from '../deps';
import { authorize, parsePart, routeIdempotency, type RouteDefinition } from '../route';
import { internalRoutes } from '../routes/internal';
import { refusalFrom } from './errors';
import { creditsMethods, type RouteAnswer } from './methods';
import { CreditsService } from './gen/durable_billing/credits/v1/credits_pb';

/** What a call carries besides its message (gRPC metadata, or Connect's headers). */
export interface CallMetadata {
  authorization: string | undefined;
  idempotencyKey: string | undefined;
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
async function callRoute(route: RouteDefinition, deps: ApiDeps, log: () => Logger, metadata: CallMetadata, parts: { params?: unknown; body?: unknown }): Promise<RouteAnswer> {
  deps.health.database.assertAvailable();
  const principal = await deps.authenticator.authenticate(metadata.authorization);
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

/** The credits service's calls by method local name (`deductCredits`), each running its route (api/grpc/methods.ts). */
export function creditsCalls(deps: ApiDeps, logger: Logger): Map<string, CreditsCall> {
  const routeById = new Map(internalRoutes.map((route) => [route.operationId, route]));
  const calls = new Map<string, CreditsCall>();
  for (const [name, mapping] of Object.entries(creditsMethods)) {
    const route = routeById.get(mapping.operationId);
    if (!route) throw new Error(`gRPC method ${name} names no route ${mapping.operationId}`);
    const rpc = `${CreditsService.typeName}/${CreditsService.method[name as keyof typeof CreditsService.method].name}`;
    const toParts = mapping.request as (message: never) => { params?: unknown; body?: unknown };
    const toResponse = mapping.response as (answer: RouteAnswer) => unknown;
    calls.set(name, async (request, metadata) => {
      // Built only when something logs (most calls log nothing), as the HTTP request's logger.
      let callLog: Logger | undefined;
      const log = () => (callLog ??= logger.child({ req: { id: randomUUID(), rpc } }));
      try {
        const answer = await callRoute(route, deps, log, metadata, toParts(request));
        return { response: toResponse(answer), replayed: answer.replayed };
      } catch (error) {
        throw await refusalFrom(error, deps.health, log());
      }
    });
  }
  return calls;
}
