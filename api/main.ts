import { createServer } from 'node:http';
import { loadConfig, orExit } from '../modules/config';
import { createDatabase } from '../platform/database';
import { deductSenderFor } from '../modules/credits';
import { createDependencyHealth } from '../platform/dependency-health';
import { createLogger } from '../platform/logger';
import { connectTemporal } from '../platform/temporal';
import { checkDatabase, connectingToTemporal, listenOn, logStartFailure } from '../platform/startup';
import { Authenticator } from './auth';
import { paymentsFromConfig } from '../modules/payments';
import { OrderWorkflowClient } from '../modules/orders';
import { answerParserErrorsWithEnvelope, keepIdleConnectionsLongerThanClients } from './server';
import { consoleOptionsFrom } from './console';
import { connectingToRateLimitStore } from './rate-limit-store';

/** Production entry point: `npm run api`. SIGINT/SIGTERM stop accepting, finish in-flight requests, exit. */
async function main(): Promise<void> {
  const config = orExit(() => loadConfig());
  const log = createLogger('api', config.LOG_LEVEL);
  // Before the app is made, so that it mounts its server spans (api/request-tracing.ts). Off (and free: the
  // OpenTelemetry SDK is not even loaded, ~16 MiB) without an endpoint.
  const tracing = config.OTEL_EXPORTER_OTLP_ENDPOINT
    ? (await import('../platform/tracing')).startTracing({ serviceName: config.OTEL_SERVICE_NAME ?? 'durable-billing-api' })
    : undefined;
  const { createApp } = await import('./app');
  const { CredentialRateLimits } = await import('./edge');
  const db = createDatabase(config.DATABASE_URL, config.DATABASE_POOL_SIZE, config.DATABASE_CONNECT_TIMEOUT_MS);
  await checkDatabase(db, config.DATABASE_URL);
  const temporal = await connectingToTemporal(config.TEMPORAL_ADDRESS, () =>
    connectTemporal(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE, { traced: tracing !== undefined }),
  );
  const authenticator = new Authenticator({
    serviceKeys: config.SERVICE_API_KEYS,
    adminKeys: config.ADMIN_API_KEYS,
    userTokenSecret: config.USER_TOKEN_SECRET,
  });
  const orders = new OrderWorkflowClient({ temporal, taskQueue: config.TEMPORAL_TASK_QUEUE, callTimeoutMs: config.RESERVATION_CALL_TIMEOUT_MS });
  const health = createDependencyHealth({ db, temporal }, log, { retryAfterSeconds: config.OUTAGE_RETRY_AFTER_SECONDS });
  const deducts = deductSenderFor(db, config);
  const rateLimitStore = config.RATE_LIMIT_REDIS_URL ? await connectingToRateLimitStore(config.RATE_LIMIT_REDIS_URL, log) : undefined;
  const deps = { db, temporal, authenticator, config, payments: paymentsFromConfig(config), orders, health, deducts };
  // One set of budgets for both doors: a caller's HTTP requests and gRPC calls count together.
  const rateLimits = new CredentialRateLimits(config, authenticator, rateLimitStore?.store);
  const app = createApp(deps, log, {
    config,
    rateLimits,
    console: consoleOptionsFrom(config),
  });
  const server = createServer(app);
  answerParserErrorsWithEnvelope(server, log);
  keepIdleConnectionsLongerThanClients(server);
  const { port } = await listenOn(server, { host: config.HOST, port: config.PORT, hostVariable: 'HOST', portVariable: 'PORT' });
  log.info({ url: `http://${config.HOST}:${port}`, tracing: tracing ? 'otlp' : 'off' }, 'api listening');
  const grpcServer = config.GRPC_PORT === undefined ? undefined : (await import('./grpc/server')).createGrpcServer(deps, log, { rateLimits, shutdownGraceMs: config.SHUTDOWN_GRACE_MS });
  if (grpcServer) {
    const grpcAddress = await listenOn(grpcServer, { host: config.HOST, port: config.GRPC_PORT!, hostVariable: 'HOST', portVariable: 'GRPC_PORT' });
    log.info({ address: `${config.HOST}:${grpcAddress.port}` }, 'grpc listening');
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'api shutting down');
    const force = setTimeout(() => {
      log.warn('shutdown grace period over; closing remaining connections');
      server.closeAllConnections();
    }, config.SHUTDOWN_GRACE_MS);
    force.unref();
    // In-flight calls finish; the HTTP server's close below waits for its own.
    grpcServer?.close();
    server.close(async () => {
      health.close();
      await rateLimitStore?.close();
      await temporal.connection.close();
      await db.$disconnect();
      await tracing?.shutdown(); // flushes spans still batched
      log.info('api stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  logStartFailure(createLogger('api'), 'api', error);
  process.exit(1);
});
