/**
 * The suite's workflow bundle (built once by global-setup), for tests that create their own Worker or
 * Replayer. It contains the OpenTelemetry workflow interceptors (one bundle serves traced and untraced
 * tests), so a worker without tracing gets a sink that drops workflow spans.
 */
import type { InjectedSinks, WorkerOptions } from '@temporalio/worker';

const dropSpans = { export: { fn: () => undefined } };

export function suiteWorkflowBundle(): Pick<WorkerOptions, 'workflowBundle' | 'sinks'> {
  const codePath = process.env.TEST_WORKFLOW_BUNDLE;
  if (!codePath) throw new Error('TEST_WORKFLOW_BUNDLE is not set: run the suite with `npm test` (jest globalSetup bundles the workflows).');
  return { workflowBundle: { codePath }, sinks: { exporter: dropSpans } as InjectedSinks<any> };
}
