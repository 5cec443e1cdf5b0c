import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities';
import type { PaymentsDeps } from '../payments/deps';
import type { Database } from '../infra/database';

export interface BillingWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: Database;
  refundGraceDays: number;
  payments: PaymentsDeps;
  /** A prebuilt bundle (tests build one per run); otherwise the worker bundles workflows/ at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Cap on concurrent activities; each holds a database connection while it runs. */
  maxConcurrentActivityTaskExecutions?: number;
  maxCachedWorkflows?: number;
  reminderLeadDays?: number[];
}

export function workflowsPath(): string {
  return require.resolve('../workflows');
}

export async function createBillingWorker(options: BillingWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: createActivities({ db: options.db, refundGraceDays: options.refundGraceDays, payments: options.payments, ...(options.reminderLeadDays ? { reminderLeadDays: options.reminderLeadDays } : {}) }),
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: workflowsPath() }),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions ?? 50,
    maxConcurrentLocalActivityExecutions: options.maxConcurrentActivityTaskExecutions ?? 50,
    ...(options.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: options.maxCachedWorkflows }),
  });
}
