import { NativeConnection } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { ensureSchedules, lifecycleTimerSettings, readInspectionFindingsFrom } from '../modules/lifecycle';
import { loadWorkerConfig, orExit } from '../modules/config';
import { createDatabase } from '../platform/database';
import { createLogger } from '../platform/logger';
import { checkDatabase, connectingToTemporal, listenFailure, logStartFailure, StartupError } from '../platform/startup';
import type { Tracing } from '../platform/tracing';
import { ensureSearchAttributes } from './search-attributes';
import { createBillingWorker, workflowsPath } from './create-worker';
import { prebuiltWorkflowBundle } from './workflow-bundle';
import { paymentsFromConfig } from '../modules/payments';
import { freeLoopbackPort, installWorkerRuntime, startWorkerMetricsServer } from './telemetry';
import { startEventRelayProcess } from '../modules/events';
import { ensureReconciliationSchedule } from '../modules/reconciliation';
import { startRefillAfter } from '../modules/topups';
import { ensureRetentionSchedule } from '../modules/retention';

/** Production entry point: `npm run worker`. SIGINT/SIGTERM drain in-flight tasks, then exit. */
async function main(): Promise<void> {
  const config = orExit(() => loadWorkerConfig());
  const log = createLogger('worker', config.LOG_LEVEL);
  const tracing: Tracing | undefined = config.OTEL_EXPORTER_OTLP_ENDPOINT
    ? (await import('../platform/tracing')).startTracing({ serviceName: config.OTEL_SERVICE_NAME ?? 'durable-billing-worker' })
    : undefined;
  const sdkMetricsAddress = config.WORKER_METRICS_PORT ? `127.0.0.1:${await freeLoopbackPort()}` : undefined;
  installWorkerRuntime({ log, logLevel: config.LOG_LEVEL, ...(sdkMetricsAddress ? { sdkMetricsAddress } : {}) });
  const metricsServer = config.WORKER_METRICS_PORT
    ? await metricsEndpoint(config.WORKER_METRICS_HOST, config.WORKER_METRICS_PORT, sdkMetricsAddress)
    : undefined;
  const db = createDatabase(config.DATABASE_URL, config.DATABASE_POOL_SIZE, config.DATABASE_CONNECT_TIMEOUT_MS);
  await checkDatabase(db, config.DATABASE_URL);
  // The findings gauge reads the latest stored inspection report: the same counts after a restart.
  readInspectionFindingsFrom(() => db);

  const admin = await connectingToTemporal(config.TEMPORAL_ADDRESS, () => Connection.connect({ address: config.TEMPORAL_ADDRESS }));
  await ensureSearchAttributes(admin, config.TEMPORAL_NAMESPACE);
  if (config.SCHEDULES_ENABLED) {
    const schedules = new Client({ connection: admin, namespace: config.TEMPORAL_NAMESPACE });
    const created = await ensureSchedules(schedules, config.TEMPORAL_TASK_QUEUE, { sweepEveryMinutes: config.EXPIRY_SWEEP_EVERY_MINUTES });
    const gatewayReconciliation = await ensureReconciliationSchedule(schedules, config.TEMPORAL_TASK_QUEUE);
    const retention = await ensureRetentionSchedule(schedules, config.TEMPORAL_TASK_QUEUE, { everyMinutes: config.RETENTION_EVERY_MINUTES, prefix: config.SCHEDULE_ID_PREFIX });
    log.info({ created, gatewayReconciliation, retention }, 'schedules ensured');
  }
  await admin.close();

  const connection = await connectingToTemporal(config.TEMPORAL_ADDRESS, () => NativeConnection.connect({ address: config.TEMPORAL_ADDRESS }));
  // The bundle `npm run build` made (no webpack at start); a traced worker bundles its own with the tracing interceptors.
  const bundlePath = tracing ? undefined : prebuiltWorkflowBundle(workflowsPath());
  const worker = await createBillingWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    db,
    refundGraceDays: config.REFUND_GRACE_DAYS,
    payments: paymentsFromConfig(config),
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : {}),
    ...(tracing ? { tracing } : {}),
    timerSettings: lifecycleTimerSettings(config),
    ...(config.OPERATOR_EMAIL ? { operatorEmail: config.OPERATOR_EMAIL } : {}),
  });
  log.info(
    {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      temporal: config.TEMPORAL_ADDRESS,
      metrics: config.WORKER_METRICS_PORT ? `http://${config.WORKER_METRICS_HOST}:${config.WORKER_METRICS_PORT}/metrics` : 'off',
      tracing: tracing ? 'otlp' : 'off',
      workflowBundle: bundlePath ?? 'bundled at start',
    },
    'worker started',
  );
  const relay = await startEventRelayProcess({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE, db, log, afterHandOver: async (deps, event) => {
    // A spend that took the user below their top-up rule's threshold starts the refill (modules/topups/refill-start.ts).
    await startRefillAfter(deps, event);
  } });
  await worker.run(); // resolves after a shutdown signal once in-flight tasks finish
  await relay.stop();
  await connection.close();
  await db.$disconnect();
  await tracing?.shutdown(); // flushes spans still batched
  metricsServer?.close();
  log.info('worker stopped');
}

/** The metrics endpoint, or a StartupError naming WORKER_METRICS_PORT when its port is not free. */
async function metricsEndpoint(host: string, port: number, sdkMetricsAddress: string | undefined) {
  try {
    return await startWorkerMetricsServer({ host, port, ...(sdkMetricsAddress ? { sdkMetricsAddress } : {}) });
  } catch (error) {
    throw listenFailure(error, { host, port, hostVariable: 'WORKER_METRICS_HOST', portVariable: 'WORKER_METRICS_PORT' });
  }
}

main().catch((error: unknown) => {
  const log = createLogger('worker');
  if (error instanceof StartupError) logStartFailure(log, 'worker', error);
  else log.fatal({ err: error }, 'worker failed');
  process.exit(1);
});
