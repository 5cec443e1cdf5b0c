/**
 * `npm run build`'s last step: the workflow bundle of the compiled workflows, written beside them
 * (worker/workflow-bundle.ts). Usage: node --import tsx scripts/build-workflow-bundle.ts dist/workflows
 */
import path from 'node:path';
import { writeWorkflowBundle } from '../worker/workflow-bundle';

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: build-workflow-bundle <compiled workflows dir>');
  const file = await writeWorkflowBundle(path.resolve(dir, 'index.js'));
  process.stdout.write(`workflow bundle: ${path.relative(process.cwd(), file)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
