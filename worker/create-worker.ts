import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type * as OtelWorker from '@temporalio/interceptors-opentelemetry/lib/worker';
import { createActivities } from './activities';
import type { PaymentsDeps } from '../modules/payments';
import { activityMetrics } from './activity-metrics';
import type { Database } from '../platform/database';
import type { Tracing } from '../platform/tracing';
import type { LifecycleTimerSettings } from '../modules/lifecycle';

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
  /**
   * Trace workflows and activities (platform/tracing.ts). A prebuilt bundle must then have been built with
   * `workflowTracingModules` (tests' bundle always is); without tracing, nothing is added.
   */
  tracing?: Pick<Tracing, 'resource' | 'spanProcessor'>;
  /** The lifecycle timers' settings (`lifecycleTimerSettings` of the configuration). */
  timerSettings: LifecycleTimerSettings;
  /** Where the daily inspection mails its findings (OPERATOR_EMAIL); unset: no mail. */
  operatorEmail?: string;
}

export function workflowsPath(): string {
  return require.resolve('../workflows');
}

/** Workflow interceptor modules of the SDK's OpenTelemetry support; bundled into the workflow code. */
export function workflowTracingModules(): string[] {
  return [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')];
}

export async function createBillingWorker(options: BillingWorkerOptions): Promise<Worker> {
  const { tracing } = options;
  // The SDK's OpenTelemetry support (and the OTel SDK under it) is loaded only when tracing is on.
  const otel: typeof OtelWorker | undefined = tracing ? await import('@temporalio/interceptors-opentelemetry/lib/worker') : undefined;
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: createActivities({ db: options.db, refundGraceDays: options.refundGraceDays, payments: options.payments, timerSettings: options.timerSettings, ...(options.operatorEmail ? { operatorEmail: options.operatorEmail } : {}) }),
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: workflowsPath() }),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions ?? 50,
    maxConcurrentLocalActivityExecutions: options.maxConcurrentActivityTaskExecutions ?? 50,
    ...(options.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: options.maxCachedWorkflows }),
    interceptors: {
      activity: [
        activityMetrics,
        ...(otel
          ? [(ctx: Parameters<typeof activityMetrics>[0]) => ({ inbound: new otel.OpenTelemetryActivityInboundInterceptor(ctx), outbound: new otel.OpenTelemetryActivityOutboundInterceptor(ctx) })]
          : []),
      ],
      ...(tracing && !options.workflowBundle ? { workflowModules: workflowTracingModules() } : {}),
    },
    // Workflow spans leave the sandbox through this sink; the worker's span processor exports them.
    ...(tracing && otel ? { sinks: { exporter: otel.makeWorkflowExporter(tracing.spanProcessor, tracing.resource) } } : {}),
  });
}
