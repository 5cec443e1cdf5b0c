/**
 * The standard gRPC health service (grpc.health.v1), answering as /readyz does for what this
 * instance cannot work without: SERVING while PostgreSQL and Temporal are not known to be down.
 * The overall server ("") and each served service are known; any other name is NOT_FOUND.
 */
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import type { DependencyHealth } from '../../platform/dependency-health';
import { Health, HealthCheckResponseSchema, HealthCheckResponse_ServingStatus as Status } from './gen/grpc/health/v1/health_pb';

function servingStatus(health: DependencyHealth): Status {
  try {
    health.database.assertAvailable();
    health.temporal.assertAvailable();
    return Status.SERVING;
  } catch {
    return Status.NOT_SERVING;
  }
}

export function registerHealth(router: ConnectRouter, health: DependencyHealth, services: string[]): void {
  const known = new Set(['', ...services]);
  router.service(Health, {
    check(request) {
      if (!known.has(request.service)) throw new ConnectError(`unknown service ${request.service}`, Code.NotFound);
      return create(HealthCheckResponseSchema, { status: servingStatus(health) });
    },
    async *watch(request, context) {
      // The current status, then the call stays open until the client leaves: watchers re-check on reconnect.
      yield create(HealthCheckResponseSchema, { status: known.has(request.service) ? servingStatus(health) : Status.SERVICE_UNKNOWN });
      await new Promise<void>((resolve) => {
        if (context.signal.aborted) resolve();
        context.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    },
  });
}
