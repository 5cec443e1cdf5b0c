/**
 * The internal credits and reservations API over gRPC, gRPC-Web and Connect on one cleartext port
 * (GRPC_PORT), beside the HTTP API: the same credentials (`authorization` metadata), idempotency keys
 * (`idempotency-key` metadata, one namespace with HTTP), route handlers (api/grpc/credits.ts) and
 * error codes (api/grpc/errors.ts), plus grpc.health.v1 and server reflection.
 *
 * Each connection goes to one of two servers by its first bytes: an HTTP/2 connection (gRPC clients
 * connect with prior knowledge) to grpc-js's server, HTTP/1.1 (browsers' gRPC-Web, Connect, curl) to
 * ConnectRPC's Node adapter. grpc-js serves a gRPC call for a fraction of the CPU ConnectRPC's adapter
 * needs (docs/performance.md, "What the gRPC path costs"); ConnectRPC serves the protocols grpc-js
 * does not speak.
 */
import http from 'node:http';
import { Server, type Socket } from 'node:net';
import { createContextKey, createContextValues, type ConnectRouter, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import { BillingError } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import type { ApiDeps } from '../deps';
import type { CredentialRateLimits } from '../edge';
import { creditsCalls, type CallMetadata, type CreditsCall } from './credits';
import { grpcServiceDefinition } from './definition';
import { connectErrorFrom, grpcStatusFrom } from './errors';
import { addHealthService, registerHealth } from './health';
import { addReflectionService, registerReflection } from './reflection';
import { CreditsService, file_durable_billing_credits_v1_credits } from './gen/durable_billing/credits/v1/credits_pb';
import { file_grpc_health_v1_health } from './gen/grpc/health/v1/health_pb';
import { file_grpc_reflection_v1_reflection } from './gen/grpc/reflection/v1/reflection_pb';

const REFLECTED_FILES = [file_durable_billing_credits_v1_credits, file_grpc_health_v1_health, file_grpc_reflection_v1_reflection];

/** A refusal the call threw (always a BillingError: api/grpc/credits.ts), or INTERNAL for anything else. */
function asRefusal(error: unknown): BillingError {
  return error instanceof BillingError ? error : new BillingError('INTERNAL', 'Internal error. The request id identifies it in the logs.');
}

/** The address in a grpc-js peer (`address:port`, IPv6 unbracketed), as a socket's remoteAddress says it. */
function peerAddressOf(peer: string): string | undefined {
  return peer === 'unknown' ? undefined : peer.replace(/:\d+$/, '');
}

/** The remote address of a ConnectRPC call's connection (set per request by the Node adapter: `contextValues`). */
const peerAddressKey = createContextKey<string | undefined>(undefined, { description: 'remote address' });

/** The credits service on grpc-js: metadata from the call, `idempotent-replayed` as response metadata. */
function grpcCreditsService(calls: Map<string, CreditsCall>): grpc.UntypedServiceImplementation {
  const first = (metadata: grpc.Metadata, key: string) => {
    const [value] = metadata.get(key);
    return typeof value === 'string' ? value : undefined;
  };
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [name, run] of calls) {
    implementation[name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const metadata: CallMetadata = {
        authorization: first(call.metadata, 'authorization'),
        idempotencyKey: first(call.metadata, 'idempotency-key'),
        peerAddress: peerAddressOf(call.getPeer()),
      };
      run(call.request as never, metadata).then(
        (answer) => {
          if (answer.replayed) {
            const replayed = new grpc.Metadata();
            replayed.set('idempotent-replayed', 'true');
            call.sendMetadata(replayed);
          }
          callback(null, answer.response);
        },
        (error: unknown) => callback(grpcStatusFrom(asRefusal(error))),
      );
    };
  }
  return implementation;
}

/** The credits service on ConnectRPC: metadata from the request headers, `idempotent-replayed` as a response header. */
function connectCreditsService(calls: Map<string, CreditsCall>): ServiceImpl<typeof CreditsService> {
  const implementation: Record<string, (request: never, context: HandlerContext) => Promise<unknown>> = {};
  for (const [name, run] of calls) {
    implementation[name] = async (request: never, context: HandlerContext) => {
      const metadata: CallMetadata = {
        authorization: context.requestHeader.get('authorization') ?? undefined,
        idempotencyKey: context.requestHeader.get('idempotency-key') ?? undefined,
        peerAddress: context.values.get(peerAddressKey),
      };
      try {
        const answer = await run(request, metadata);
        if (answer.replayed) context.responseHeader.set('idempotent-replayed', 'true');
        return answer.response;
      } catch (error) {
        throw connectErrorFrom(asRefusal(error));
      }
    };
  }
  return implementation as unknown as ServiceImpl<typeof CreditsService>;
}

/** Every service and descriptor ConnectRPC serves (gRPC-Web, Connect). */
export function grpcRoutes(deps: ApiDeps, logger: Logger, calls: Map<string, CreditsCall>): (router: ConnectRouter) => void {
  return (router) => {
    router.service(CreditsService, connectCreditsService(calls));
    registerHealth(router, deps.health, [CreditsService.typeName]);
    registerReflection(router, REFLECTED_FILES);
  };
}

/** The same services on a grpc-js server (gRPC). */
function grpcJsServer(deps: ApiDeps, calls: Map<string, CreditsCall>): grpc.Server {
  // Channelz keeps per-call statistics nobody reads here; off, a call costs less.
  const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
  server.addService(grpcServiceDefinition(CreditsService), grpcCreditsService(calls));
  addHealthService(server, deps.health, [CreditsService.typeName]);
  addReflectionService(server, REFLECTED_FILES);
  return server;
}

/** An HTTP/2 connection opens with this preface ("PRI * HTTP/2.0…"); no HTTP/1.1 method starts with "PRI". */
const HTTP2_PREFACE_START = Buffer.from('PRI');
/** A connection that has not sent its first bytes by then is closed. */
const FIRST_BYTES_TIMEOUT_MS = 10_000;

export interface GrpcServerOptions {
  /** The HTTP API's rate limits (api/main.ts makes one for both): calls here count against the same budgets. */
  rateLimits: CredentialRateLimits;
  /** How long close() lets calls in flight finish before it closes their connections. */
  shutdownGraceMs?: number;
}

/**
 * The port: a TCP server handing each connection to grpc-js (HTTP/2) or ConnectRPC (HTTP/1.1).
 * close() stops accepting, asks HTTP/2 clients to go away once their calls end (GOAWAY), closes idle
 * HTTP/1.1 connections, and calls back when every connection is gone.
 */
export class GrpcServer extends Server {
  private readonly grpcConnections: grpc.ConnectionInjector;
  private readonly connectServer: http.Server;
  private readonly shutdownGraceMs: number;

  constructor(deps: ApiDeps, logger: Logger, options: GrpcServerOptions) {
    super({ noDelay: true });
    const calls = creditsCalls(deps, logger, options.rateLimits);
    this.grpcConnections = grpcJsServer(deps, calls).createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.connectServer = http.createServer(
      connectNodeAdapter({
        routes: grpcRoutes(deps, logger, calls),
        contextValues: (req) => createContextValues().set(peerAddressKey, req.socket.remoteAddress),
      }),
    );
    this.shutdownGraceMs = options.shutdownGraceMs ?? 10_000;
    this.on('connection', (socket: Socket) => this.route(socket));
  }

  private route(socket: Socket): void {
    let received = Buffer.alloc(0);
    socket.setTimeout(FIRST_BYTES_TIMEOUT_MS, () => socket.destroy());
    // Until a server has the socket, a reset must not become an uncaught 'error' (the process would exit).
    const onError = () => socket.destroy();
    socket.on('error', onError);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < HTTP2_PREFACE_START.length) return;
      socket.off('data', onData);
      socket.off('error', onError);
      socket.setTimeout(0);
      socket.pause();
      // Both servers read what was already received from the socket's buffer first.
      socket.unshift(received);
      if (received.subarray(0, HTTP2_PREFACE_START.length).equals(HTTP2_PREFACE_START)) this.grpcConnections.injectConnection(socket);
      else {
        this.connectServer.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
  }

  override close(callback?: (error?: Error) => void): this {
    super.close(callback);
    this.grpcConnections.drain(this.shutdownGraceMs);
    this.connectServer.closeIdleConnections();
    return this;
  }
}

export function createGrpcServer(deps: ApiDeps, logger: Logger, options: GrpcServerOptions): GrpcServer {
  return new GrpcServer(deps, logger, options);
}
