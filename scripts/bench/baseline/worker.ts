/**
 * The baseline's Temporal worker, run by the bench as a process of its own like the billing worker, so
 * both are measured the same way (CPU, memory) and run the same way (compiled, or under tsx).
 * Env: TEMPORAL_ADDRESS, BENCH_TASK_QUEUE. Runs until SIGTERM/SIGINT.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { BenchActivities } from './workflows';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const address = process.env.TEMPORAL_ADDRESS;
  const taskQueue = process.env.BENCH_TASK_QUEUE;
  if (!address || !taskQueue) throw new Error('TEMPORAL_ADDRESS and BENCH_TASK_QUEUE must be set');
  const connection = await NativeConnection.connect({ address });
  const activities: BenchActivities = {
    noop: async () => undefined,
    // The same client the delivery activity uses (fetch), with a time limit as it has.
    postJson: async (url, body) => {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(15_000) });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`POST ${url}: HTTP ${response.status}`);
    },
  };
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    workflowsPath: require.resolve('./workflows'),
    activities,
    // As the billing worker (worker/create-worker.ts).
    maxConcurrentActivityTaskExecutions: 50,
  });
  await worker.run(); // until SIGTERM/SIGINT
  await connection.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`baseline worker failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
