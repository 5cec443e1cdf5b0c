/**
 * Debian's Chromium, for the console's browser test (playwright-core drives it; Playwright's own browser
 * downloads are not used: they come from outside the package registries). `npm run setup` calls this:
 * present, it answers at once; missing, and run as root where apt-get exists (CI, the dev machines), it
 * runs `apt-get update` once and installs the `chromium` package without questions.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const run = promisify(execFile);

export async function ensureChromium(log: (line: string) => void = () => {}): Promise<{ path: string; installed: boolean; version: string }> {
  let installed = false;
  if (!existsSync(CHROMIUM_PATH)) {
    if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
      throw new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's (apt-get install chromium) or set CHROMIUM_PATH`);
    }
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    log('apt-get update (for chromium)');
    await run('apt-get', ['update', '-qq'], { env, maxBuffer: 64 * 1024 * 1024 });
    log('apt-get install chromium');
    await run('apt-get', ['install', '-y', '-qq', 'chromium'], { env, maxBuffer: 64 * 1024 * 1024 });
    installed = true;
  }
  const { stdout } = await run(CHROMIUM_PATH, ['--version']);
  return { path: CHROMIUM_PATH, installed, version: stdout.trim() };
}
