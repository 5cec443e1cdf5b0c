/**
 * Starts the real services the suite runs against, once per `npm test`: a throwaway PostgreSQL
 * cluster (migrated and seeded) and a Temporal dev server, and bundles the workflows once.
 * Set TEST_DATABASE_URL / TEST_TEMPORAL_ADDRESS to use running services instead.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startPostgres, startStripeMock, startTemporalDevServer } from '../../scripts/services';
import { migrate } from '../../prisma/migrate';
import { seedDatabase } from '../../prisma/seed';
import { workflowTracingModules, workflowsPath } from '../../worker/create-worker';
import { propertySeed } from './property-seed';

interface Stoppable {
  stop(): Promise<void>;
}

declare global {
  // eslint-disable-next-line no-var
  var __durableBillingServices: Stoppable[] | undefined;
}

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const workDir = mkdtempSync(path.join(tmpdir(), 'durable-billing-test-'));
  chmodSync(workDir, 0o755); // the `postgres` OS user (when we run as root) must reach its data dir
  const services: Stoppable[] = [];
  globalThis.__durableBillingServices = services;

  const [databaseUrl, temporalAddress, bundlePath, stripeApiBase] = await Promise.all([
    (async () => {
      if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL;
      const postgres = await startPostgres({ dataDir: path.join(workDir, 'pg'), ephemeral: true });
      services.push(postgres);
      return postgres.url;
    })(),
    (async () => {
      if (process.env.TEST_TEMPORAL_ADDRESS) return process.env.TEST_TEMPORAL_ADDRESS;
      const temporal = await startTemporalDevServer({ uiPort: false, log: path.join(workDir, 'temporal.log') });
      services.push(temporal);
      return temporal.address;
    })(),
    (async () => {
      // With the tracing interceptors (as a worker with OTEL_EXPORTER_OTLP_ENDPOINT bundles them), so one bundle serves traced and untraced tests.
      const bundle = await bundleWorkflowCode({ workflowsPath: workflowsPath(), workflowInterceptorModules: workflowTracingModules(), logger: quietLogger });
      const file = path.join(workDir, 'workflow-bundle.js');
      writeFileSync(file, bundle.code);
      return file;
    })(),
    (async () => {
      if (process.env.TEST_STRIPE_API_BASE) return process.env.TEST_STRIPE_API_BASE;
      const stripeMock = await startStripeMock({ log: path.join(workDir, 'stripe-mock.log') });
      services.push(stripeMock);
      return stripeMock.url;
    })(),
  ]);
  await migrate(databaseUrl);
  await seedDatabase(databaseUrl);

  process.env.TEST_DATABASE_URL = databaseUrl;
  process.env.TEST_TEMPORAL_ADDRESS = temporalAddress;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  // One seed for every property test of this run (FC_SEED=random draws one; the test files read it back).
  process.env.FC_SEED = String(propertySeed());
  process.env.TEST_STRIPE_API_BASE = stripeApiBase;
  process.stdout.write(`\n[test services] postgres + temporal + stripe-mock + workflow bundle ready in ${Date.now() - started} ms\n`);
  process.stdout.write(`[property tests] fast-check seed ${process.env.FC_SEED} (FC_SEED=<n> to replay, FC_SEED=random for a new one)\n`);
}

const quietLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => process.stderr.write(`${message}\n`),
  error: (message: string) => process.stderr.write(`${message}\n`),
};
