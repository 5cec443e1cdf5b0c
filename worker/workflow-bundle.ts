/**
 * The workflow bundle built once, at build time, instead of at every worker start. Bundling with
 * webpack at start costs the worker about 0.7 s and leaves its heap and RSS ~100 MiB larger for the
 * life of the process (docs/performance.md, target 4). `npm run build` writes the bundle of the
 * compiled workflows next to them (dist/workflows/workflow-bundle.js); the compiled worker uses it when
 * it is there. Under tsx (development) there is none and the worker bundles at start, as before.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, type Logger } from '@temporalio/worker';

export const WORKFLOW_BUNDLE_FILE = 'workflow-bundle.js';

/** The bundler's webpack statistics are noise in a build; its warnings and errors are not. */
const warningsOnly: Logger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message) => process.stderr.write(`${message}\n`),
  error: (message) => process.stderr.write(`${message}\n`),
};

/** The prebuilt bundle beside these workflows, if the build made one. */
export function prebuiltWorkflowBundle(workflowsEntry: string): string | undefined {
  const file = path.join(path.dirname(workflowsEntry), WORKFLOW_BUNDLE_FILE);
  return fs.existsSync(file) ? file : undefined;
}

/**
 * Bundles the workflows whose entry is `workflowsEntry` (the compiled workflows/index.js) into
 * WORKFLOW_BUNDLE_FILE beside it. Without tracing interceptors: a worker with tracing on bundles its
 * own at start (worker/create-worker.ts). Returns the file written.
 */
export async function writeWorkflowBundle(workflowsEntry: string, logger: Logger = warningsOnly): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: workflowsEntry,
    logger,
    // The SDK records a stack trace, mapped through this source map, for every promise a workflow makes
    // (its stack-trace query). Line-only mappings to the TypeScript lines, without the sources' text:
    // a map of ~0.1 MB instead of 1.3 MB, less memory in the workflow thread and cheaper lookups. The
    // sources' text is only shown by `showStackTraceSources`, which the worker leaves off.
    webpackConfigHook: (config) => ({ ...config, devtool: 'inline-nosources-cheap-module-source-map' }),
  });
  const file = path.join(path.dirname(workflowsEntry), WORKFLOW_BUNDLE_FILE);
  fs.writeFileSync(file, code);
  return file;
}
