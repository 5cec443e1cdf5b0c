/**
 * The standard gRPC health service (grpc.health.v1), answering as /readyz does for what this
 * instance cannot work without: SERVING while PostgreSQL and Temporal are not known to be down.
 * The overall server ("") and each served service are known; any other name is NOT_FOUND.
 * Registered on both servers of the port (api/grpc/server.ts).
 */
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import * as grpc from '@grpc/grpc-js';
import type { DependencyHealth } from '../../platform/dependency-health';
import { grpcServiceDefinition } from './definition';
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from './gen/grpc/health/v1/health_pb';

function servingStatus(health: DependencyHealth): Status {
  try {
    health.database.assertAvailable();
    health.temporal.assertAvailable();
    return Status.SERVING;
  } catch {
    return Status.NOT_SERVING;
  }
}

interface HealthAnswers {
  /** Check's answer; undefined for a service this server does not know (NOT_FOUND). */
  check(service: string): HealthCheckResponse | undefined;
  /** Watch's first answer (SERVICE_UNKNOWN for an unknown service, as the protocol says). */
  watch(service: string): HealthCheckResponse;
}

function healthAnswers(health: DependencyHealth, services: string[]): HealthAnswers {
  const known = new Set(['', ...services]);
  return {
    check: (service) => (known.has(service) ? create(HealthCheckResponseSchema, { status: servingStatus(health) }) : undefined),
    watch: (service) => create(HealthCheckResponseSchema, { status: known.has(service) ? servingStatus(health) : Status.SERVICE_UNKNOWN }),
  };
}

export function registerHealth(router: ConnectRouter, health: DependencyHealth, services: string[]): void {
  const answers = healthAnswers(health, services);
  router.service(Health, {
    check(request) {
      const answer = answers.check(request.service);
      if (!answer) throw new ConnectError(`unknown service ${request.service}`, Code.NotFound);
      return answer;
    },
    async *watch(request, context) {
      // The current status, then the call stays open until the client leaves: watchers re-check on reconnect.
      yield answers.watch(request.service);
      await new Promise<void>((resolve) => {
        if (context.signal.aborted) resolve();
        context.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    },
  });
}

export function addHealthService(server: grpc.Server, health: DependencyHealth, services: string[]): void {
  const answers = healthAnswers(health, services);
  server.addService(grpcServiceDefinition(Health), {
    check(call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, callback: grpc.sendUnaryData<HealthCheckResponse>) {
      const answer = answers.check(call.request.service);
      if (!answer) callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${call.request.service}` });
      else callback(null, answer);
    },
    watch(call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) {
      // The current status, then the call stays open until the client leaves: watchers re-check on reconnect.
      call.write(answers.watch(call.request.service));
    },
  });
}
