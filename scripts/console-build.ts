/**
 * Vite's build of the console (console/vite.config.mts), as a child process: `npm run dev` runs it before
 * the API starts, and the console's browser test builds into a folder of its own. Vite's bundling only:
 * the type check is `npm run console:build`'s (and `npm run typecheck`'s) job.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.join(__dirname, '..');

export async function buildConsole(options: { outDir?: string } = {}): Promise<string> {
  // vite's package.json does not export its bin; its path is found beside the package.json it does export.
  const vite = path.join(path.dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
  const outDir = options.outDir ?? path.join(ROOT, 'console', 'dist');
  await promisify(execFile)(process.execPath, [vite, 'build', '-c', 'console/vite.config.mts', '--logLevel', 'warn', '--outDir', outDir, '--emptyOutDir'], { cwd: ROOT });
  return outDir;
}
