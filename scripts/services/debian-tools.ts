/**
 * Tools that come from Debian's packages (the project's machines run Debian): found on PATH or in the
 * sbin folders, else installed with apt-get when running as root. promtool checks and unit-tests the
 * Prometheus rules and the dashboard's queries; logrotate is the documented rotation path for a log file;
 * pdftotext reads invoice PDFs back as text in the tests.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { findOnPath, isExecutableFile, lastLines, run } from './commands';

export interface DebianTool {
  /** The command it provides, or the absolute path of what it installs (a font's folder). */
  command: string;
  /** The Debian package that ships it. */
  debianPackage: string;
  purpose: string;
}

export const DEBIAN_TOOLS: readonly DebianTool[] = [
  // The same package ships the Prometheus server (`prometheus`): tests/dashboard-snapshot.test.ts and `npm run dashboard:snapshot` run it.
  { command: 'promtool', debianPackage: 'prometheus', purpose: 'Prometheus rule checks and unit tests (tests/unit/prometheus-rules.test.ts, grafana-dashboard.test.ts), and its server' },
  { command: 'redis-server', debianPackage: 'redis-server', purpose: 'rate limits shared by API replicas (tests/replicas.test.ts)' },
  { command: 'logrotate', debianPackage: 'logrotate', purpose: 'log rotation test (tests/log-rotation.test.ts)' },
  // playwright-core drives Debian's build: Playwright's own browser downloads are outside the package registries.
  { command: 'chromium', debianPackage: 'chromium', purpose: "the console's browser test (tests/console.test.ts)" },
  // Chromium only recommends a font; without one a headless page renders no text.
  { command: 'pdftotext', debianPackage: 'poppler-utils', purpose: 'reading invoice PDFs back as text (tests/invoices-pdf.test.ts)' },
  { command: '/usr/share/fonts/truetype/liberation', debianPackage: 'fonts-liberation', purpose: 'a font for Chromium' },
];

const APT_TIMEOUT_MS = 10 * 60_000;

/** An absolute path as it is (a package's folder), else PATH, then the sbin folders a non-root PATH lacks (logrotate lives in /usr/sbin). */
export function findDebianTool(command: string): string | undefined {
  if (path.isAbsolute(command)) return existsSync(command) ? command : undefined;
  return findOnPath(command) ?? ['/usr/sbin', '/sbin'].map((dir) => path.join(dir, command)).find(isExecutableFile);
}

export interface DebianToolResult {
  tool: DebianTool;
  path?: string;
  installed: boolean;
  error?: string;
}

/**
 * Finds each tool and installs the missing ones in one apt-get run (after `apt-get update`, without
 * recommended packages, never asking). The `prometheus` package also ships a server; on a host whose
 * init system starts services on install it would start one: there, install promtool yourself.
 */
export async function ensureDebianTools(log: (line: string) => void = () => {}): Promise<DebianToolResult[]> {
  const missing = DEBIAN_TOOLS.filter((tool) => !findDebianTool(tool.command));
  let installError: string | undefined;
  if (missing.length > 0) installError = await aptInstall(missing.map((tool) => tool.debianPackage), log);
  return DEBIAN_TOOLS.map((tool) => {
    const found = findDebianTool(tool.command);
    const installed = missing.includes(tool);
    if (found) return { tool, path: found, installed };
    return { tool, installed: false, error: installError ?? `${tool.command} still not found after installing ${tool.debianPackage}` };
  });
}

async function aptInstall(packages: string[], log: (line: string) => void): Promise<string | undefined> {
  const manual = `install it with: apt-get install -y ${packages.join(' ')}`;
  if (!findOnPath('apt-get')) return `apt-get not found; ${manual} (or your system's equivalent)`;
  if (process.getuid?.() !== 0) return `not root; ${manual}`;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log('running: apt-get update');
  const update = await run('apt-get', ['update', '-qq'], { timeoutMs: APT_TIMEOUT_MS, env });
  if (update.code !== 0) return `apt-get update failed:\n${lastLines(update.output, 10)}`;
  const args = ['install', '-y', '-qq', '--no-install-recommends', ...packages];
  log(`running: apt-get ${args.join(' ')}`);
  const install = await run('apt-get', args, { timeoutMs: APT_TIMEOUT_MS, env });
  return install.code === 0 ? undefined : `apt-get install failed:\n${lastLines(install.output, 10)}`;
}
