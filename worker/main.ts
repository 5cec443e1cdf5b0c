import { DefaultLogger, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import { Connection } from '@temporalio/client';
import { loadWorkerConfig, orExit } from '../infra/config';
import { createDatabase } from '../infra/database';
import { createLogger } from '../infra/logger';
import { ensureSearchAttributes } from './search-attributes';
import { createBillingWorker } from './create-worker';
import { paymentsFromConfig } from '../payments/from-config';
import { ensureReconciliationSchedule } from '../reconciliation/schedule';
import { Client } from '@temporalio/client';

/** Production entry point: `npm run worker`. SIGINT/SIGTERM drain in-flight tasks, then exit. */
async function main(): Promise<void> {
  const config = orExit(() => loadWorkerConfig());
  const log = createLogger('worker', config.LOG_LEVEL);
  // The SDK's own logs (workflow and activity context included: workflowId, runId, activityType...)
  // go through pino too, so the worker writes one JSON log stream.
  Runtime.install({
    logger: new DefaultLogger(sdkLevel(config.LOG_LEVEL), (entry) => {
      const level = entry.level === 'TRACE' ? 'trace' : entry.level === 'WARN' ? 'warn' : (entry.level.toLowerCase() as 'debug' | 'info' | 'error');
      log[level]({ ...entry.meta, sdk: true }, entry.message);
    }),
  });
  const db = createDatabase(config.DATABASE_URL, config.DATABASE_POOL_SIZE, config.DATABASE_CONNECT_TIMEOUT_MS);

  const admin = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  await ensureSearchAttributes(admin, config.TEMPORAL_NAMESPACE);
  log.info({ schedule: await ensureReconciliationSchedule(new Client({ connection: admin, namespace: config.TEMPORAL_NAMESPACE }), config.TEMPORAL_TASK_QUEUE) }, 'gateway reconciliation schedule');
  await admin.close();

  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await createBillingWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    db,
    refundGraceDays: config.REFUND_GRACE_DAYS,
    payments: paymentsFromConfig(config),
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
  });
  log.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, temporal: config.TEMPORAL_ADDRESS }, 'worker started');
  await worker.run(); // resolves after a shutdown signal once in-flight tasks finish
  await connection.close();
  await db.$disconnect();
  log.info('worker stopped');
}

function sdkLevel(level: string): LogLevel {
  const map: Record<string, LogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', fatal: 'ERROR', silent: 'ERROR' };
  return map[level] ?? 'INFO';
}

main().catch((error: unknown) => {
  createLogger('worker').fatal({ err: error }, 'worker failed');
  process.exit(1);
});
