/**
 * The internal credits and reservations API over gRPC, gRPC-Web and Connect (ConnectRPC, one
 * HTTP/2 cleartext port, GRPC_PORT), beside the HTTP API: the same credentials (`authorization`
 * metadata), idempotency keys (`idempotency-key` metadata, one namespace with HTTP), route handlers
 * and error codes (api/grpc/errors.ts), plus grpc.health.v1 and server reflection.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Http2Server } from 'node:http2';
import type { ConnectRouter, HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { JsonValue } from '@bufbuild/protobuf';
import type { Request } from 'express';
import type { Logger } from '../../platform/logger';
import type { ApiDeps } from '../deps';
import { authorize, parsePart, routeIdempotency, type RouteDefinition } from '../route';
import { internalRoutes } from '../routes/internal';
import { toConnectError } from './errors';
import { registerHealth } from './health';
import { creditsMethods, type RouteAnswer } from './methods';
import { registerReflection } from './reflection';
import { CreditsService, file_durable_billing_credits_v1_credits } from './gen/durable_billing/credits/v1/credits_pb';
import { file_grpc_health_v1_health } from './gen/grpc/health/v1/health_pb';
import { file_grpc_reflection_v1_reflection } from './gen/grpc/reflection/v1/reflection_pb';

/** Handlers served over gRPC read the logger from `log`; reading the Express request is a bug, made loud. */
const noExpressRequest = new Proxy({} as Request, {
  get(_target, property) {
    throw new Error(`a route served over gRPC read req.${String(property)}; use the context's log instead`);
  },
});

/** Runs a route as its HTTP endpoint would, from gRPC metadata and the mapped request parts. */
async function callRoute(route: RouteDefinition, deps: ApiDeps, log: () => Logger, context: HandlerContext, parts: { params?: unknown; body?: unknown }): Promise<RouteAnswer> {
  deps.health.database.assertAvailable();
  const principal = await deps.authenticator.authenticate(context.requestHeader.get('authorization') ?? undefined);
  authorize(route, principal);
  const params = route.params ? parsePart(route.params, parts.params, 'params') : undefined;
  const body = route.body ? parsePart(route.body, parts.body, 'body') : undefined;
  const idempotency = routeIdempotency(route, principal, context.requestHeader.get('idempotency-key') ?? undefined, params, body);
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
  if (result.replayed) context.responseHeader.set('idempotent-replayed', 'true');
  const json = result.bodyText !== undefined ? (JSON.parse(result.bodyText) as JsonValue) : (result.body as JsonValue);
  return { body: json, replayed: result.replayed === true };
}

/** The credits service: each method runs its route (api/grpc/methods.ts) and maps its refusals. */
function creditsService(deps: ApiDeps, logger: Logger): ServiceImpl<typeof CreditsService> {
  const routeById = new Map(internalRoutes.map((route) => [route.operationId, route]));
  const implementation: Record<string, (request: never, context: HandlerContext) => Promise<unknown>> = {};
  for (const [name, mapping] of Object.entries(creditsMethods)) {
    const route = routeById.get(mapping.operationId);
    if (!route) throw new Error(`gRPC method ${name} names no route ${mapping.operationId}`);
    implementation[name] = async (request: never, context: HandlerContext) => {
      // Built only when something logs (most calls log nothing), as the HTTP request's logger.
      let callLog: Logger | undefined;
      const log = () => (callLog ??= logger.child({ req: { id: randomUUID(), rpc: `${CreditsService.typeName}/${context.method.name}` } }));
      try {
        const answer = await callRoute(route, deps, log, context, (mapping.request as (m: never) => { params?: unknown; body?: unknown })(request));
        return (mapping.response as (a: RouteAnswer) => unknown)(answer);
      } catch (error) {
        throw await toConnectError(error, deps.health, log());
      }
    };
  }
  return implementation as unknown as ServiceImpl<typeof CreditsService>;
}

/** Every service and descriptor the port serves. */
export function grpcRoutes(deps: ApiDeps, logger: Logger): (router: ConnectRouter) => void {
  return (router) => {
    router.service(CreditsService, creditsService(deps, logger));
    registerHealth(router, deps.health, [CreditsService.typeName]);
    registerReflection(router, [file_durable_billing_credits_v1_credits, file_grpc_health_v1_health, file_grpc_reflection_v1_reflection]);
  };
}

/** An HTTP/2 cleartext server (gRPC clients' prior knowledge); call listen() on it. */
export function createGrpcServer(deps: ApiDeps, logger: Logger): Http2Server {
  return createServer(connectNodeAdapter({ routes: grpcRoutes(deps, logger) }));
}
