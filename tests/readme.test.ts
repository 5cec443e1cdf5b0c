/**
 * The README runs as written. Every ```bash / ```sh block of README.md is executed, in order, in ONE bash
 * process (variables carry over from block to block, as in the reader's terminal) against a fresh `npm run dev`
 * on the default ports. The only changes made to the text are the ones it tells the reader to make (paste the
 * user token npm run dev printed), plus instrumentation that makes a failure visible: `set -eo pipefail`, and a
 * `curl` that fails on an HTTP error (`--fail-with-body`) where the reader would see the error on screen.
 *
 * A block is left out only with a reason, in an HTML comment on the line before it:
 *   <!-- readme-test: skip — <why> -->
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startProcess, type ManagedProcess } from '../scripts/services';
import { waitFor } from './support/wait';

const ROOT = path.join(__dirname, '..');
const API = 'http://127.0.0.1:3000';
/** Starting everything on a loaded 2-core machine: PostgreSQL, Temporal, migrations, worker, API. */
const DEV_START_MS = 120_000;
const BLOCKS_MS = 90_000;
const DEV_STOP_MS = 60_000;

/** What the text tells the reader to replace, and with what (filled in once dev has printed it). */
const USER_TOKEN_PLACEHOLDER = '<the user token npm run dev printed>';

export interface ShellBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The nearest heading above the block, and its first line: how a failure names it. */
  heading: string;
  firstLine: string;
  code: string;
  skip?: { reason: string };
}

const SKIP_MARKER = /^<!--\s*readme-test:\s*skip\b(.*?)-->\s*$/;

/** The shell blocks of a Markdown text, in order, with the skip marker (if any) of each. */
export function shellBlocks(markdown: string, file = 'README.md'): ShellBlock[] {
  const lines = markdown.split('\n');
  const blocks: ShellBlock[] = [];
  let heading = '(top)';
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, '');
    const fence = /^```(\S*)\s*$/.exec(line);
    if (!fence) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end += 1;
    i = end;
    if (!['bash', 'sh', 'shell'].includes(fence[1]!)) continue;
    const code = lines.slice(start + 1, end).join('\n');
    let previous = start - 1;
    while (previous >= 0 && lines[previous]!.trim() === '') previous -= 1;
    const marker = previous >= 0 ? SKIP_MARKER.exec(lines[previous]!.trim()) : null;
    const firstLine = code.split('\n').find((codeLine) => codeLine.trim() !== '') ?? '';
    const block: ShellBlock = { file, line: start + 1, heading, firstLine, code };
    if (marker) block.skip = { reason: marker[1]!.replace(/^\s*[—–-]+\s*/, '').trim() };
    blocks.push(block);
  }
  return blocks;
}

/** Blocks without a language that a reader would still type into a shell: they would escape the test. */
export function untaggedShellCommands(markdown: string): number[] {
  const lines = markdown.split('\n');
  const found: number[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const fence = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!fence) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end += 1;
    if (fence[1] === '' && lines.slice(i + 1, end).some((line) => /^\s*(curl|npm|node|temporal|docker)\s/.test(line))) found.push(i + 1);
    i = end;
  }
  return found;
}

/**
 * Commands the run must never execute, skip marker or not: they change the checkout (npm install would replace
 * node_modules), start a second stack, or run the suite again. A block with one of them must be skipped.
 */
const NEVER_RUN = /^\s*(npm (install|ci|test)\b|npm run (dev|bench|build|start:\w+)\b|docker )/m;

function unsafeBlocks(): string[] {
  return blocks.filter((block) => !block.skip && NEVER_RUN.test(block.code)).map(describeBlock);
}

function describeBlock(block: ShellBlock): string {
  return `${block.file}:${block.line} (${block.heading}) "${block.firstLine}"`;
}

/**
 * The README first, then the other documents that show shell commands, which go on from it (a reader who
 * followed the README has its variables and its stack). Their blocks follow the same skip rule.
 */
const DOCUMENTS = ['README.md', 'docs/payments-gateway.md', 'docs/operations.md', 'docs/performance.md', 'console/README.md'];
const texts = DOCUMENTS.map((file) => ({ file, text: fs.readFileSync(path.join(ROOT, file), 'utf8') }));
const blocks = texts.flatMap(({ file, text }) => shellBlocks(text, file));

describe('shell blocks of the README and the docs', () => {
  it('every skipped block says why, and every shell command is in a bash block', () => {
    expect(blocks.filter((block) => block.skip && !block.skip.reason).map(describeBlock)).toEqual([]);
    expect(texts.flatMap(({ file, text }) => untaggedShellCommands(text).map((line) => `${file}:${line}`))).toEqual([]);
    expect(blocks.filter((block) => !block.skip).length).toBeGreaterThan(3);
    expect(unsafeBlocks()).toEqual([]);
  });

  it('only asks the reader to replace what the test knows how to fill in', () => {
    const placeholders = blocks
      .filter((block) => !block.skip)
      .flatMap((block) => {
        // A comment may say anything; code with `<something>` or `…` in it asks the reader to fill something in.
        const code = block.code
          .replaceAll(USER_TOKEN_PLACEHOLDER, '')
          .split('\n')
          .map((line) => line.replace(/(^|\s)#.*$/, ''))
          .join('\n');
        return [...code.matchAll(/<[A-Za-z][\w .-]*>|…/g)].map((match) => `${describeBlock(block)}: ${match[0]}`);
      });
    expect(placeholders).toEqual([]);
  });
});

describe('README.md, run as written against npm run dev', () => {
  let workDir: string;
  let dev: ManagedProcess | undefined;
  const devLines: string[] = [];

  beforeAll(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-billing-readme-'));
    // Run as root, PostgreSQL runs as `postgres`, which must be able to enter the data dir (a fresh mkdtemp is 700).
    fs.chmodSync(workDir, 0o755);
  });

  afterAll(async () => {
    await dev?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it(
    'runs every block in order, then npm run dev stops cleanly on Ctrl-C',
    async () => {
      const unsafe = unsafeBlocks();
      if (unsafe.length > 0) throw new Error(`not running the blocks: these would change the checkout or start a second stack, and need a skip marker:\n${unsafe.join('\n')}`);
      dev = startProcess({
        name: 'npm run dev',
        command: 'npm',
        args: ['run', 'dev'],
        cwd: ROOT,
        // The reader's shell: none of the suite's service addresses, so dev starts its own of everything.
        env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: process.env.LANG ?? 'C.UTF-8', DEV_DATA_DIR: path.join(workDir, 'data') },
        log: (line) => devLines.push(line),
        stopSignals: ['SIGINT', 'SIGTERM'],
        stopGraceMs: DEV_STOP_MS / 2,
      });
      const started = dev;
      const token = await waitFor(
        () => {
          started.assertRunning();
          for (const line of devLines) {
            const match = /user token for user-42\s+(\S+)/.exec(line);
            if (match) return match[1];
          }
          return undefined;
        },
        DEV_START_MS,
        `npm run dev to print the user token (its output so far:\n${devLines.slice(-40).join('\n')})`,
      );
      await waitFor(async () => (await fetch(`${API}/readyz`).catch(() => undefined))?.ok, DEV_START_MS, '/readyz');

      const run = blocks.filter((block) => !block.skip);
      const script = [
        'exec 2>&1', // one stream, so a block's errors stay between its markers
        'set -eo pipefail',
        'set -m', // background jobs get process groups of their own, so the exit trap ends them with their children
        // An HTTP error fails the block; a call that already says -f (a poll) keeps its own meaning.
        'curl() { local arg; for arg in "$@"; do [[ $arg == --fail || $arg =~ ^-[a-zA-Z]*f[a-zA-Z]*$ ]] && { command curl "$@"; return; }; done; command curl --fail-with-body "$@"; }',
        "trap 'for job in $(jobs -p); do kill -- -$job 2>/dev/null || true; done' EXIT",
        "trap 'exit 143' TERM",
        ...run.flatMap((block, index) => [
          // On a line of their own even after an answer without a final newline (curl's usually).
          `printf '\\n::readme-block ${index} start\\n'`,
          block.code.replaceAll(`'${USER_TOKEN_PLACEHOLDER}'`, `'${token}'`),
          `printf '\\n::readme-block ${index} end\\n'`,
        ]),
      ].join('\n');
      const result = await runBash(script, BLOCKS_MS, path.join(workDir, 'blocks.log'));

      // Each block's output, under its name; the failing one (started, never ended) is named in the failure.
      const outputs = new Map<number, string[]>();
      let current = -1;
      const ended = new Set<number>();
      for (const line of result.output.split('\n')) {
        const marker = /^::readme-block (\d+) (start|end)$/.exec(line);
        if (marker) {
          current = Number(marker[1]);
          if (marker[2] === 'end') ended.add(current);
          continue;
        }
        if (!outputs.has(current)) outputs.set(current, []);
        outputs.get(current)!.push(line);
      }
      const report = run.map((block, index) => `=== ${describeBlock(block)}\n${(outputs.get(index) ?? []).join('\n')}`).join('\n');
      process.stdout.write(`README blocks, as run:\n${report}\n`);
      const failed = run.findIndex((_, index) => !ended.has(index));
      if (failed >= 0 || result.code !== 0) {
        const block = run[failed];
        throw new Error(
          `${block ? describeBlock(block) : 'the script'} failed (bash ${result.code === null ? `killed: ${result.signal}` : `exit ${result.code}`})\n` +
            `--- its output ---\n${(outputs.get(failed) ?? []).join('\n')}\n--- npm run dev, last lines ---\n${devLines.slice(-30).join('\n')}`,
        );
      }

      started.signal('SIGINT');
      expect(await started.exitsWithin(DEV_STOP_MS)).toBe(true);
      expect(started.exitCode).toBe(0);
    },
    DEV_START_MS + BLOCKS_MS + DEV_STOP_MS + 30_000,
  );
});

interface BashResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/**
 * Runs the script in bash (its own process group), stdout and stderr interleaved, each chunk also appended to
 * `logFile` as it comes (to follow a run, or see where one stuck). Past the deadline bash gets SIGTERM, which its
 * trap turns into an exit (so the EXIT trap ends the background jobs), then SIGKILL.
 */
function runBash(script: string, timeoutMs: number, logFile: string): Promise<BashResult> {
  return new Promise((resolve, reject) => {
    fs.writeFileSync(logFile, '');
    const child = spawn('bash', ['-c', script], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: process.env.LANG ?? 'C.UTF-8' }, detached: true });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      fs.appendFileSync(logFile, chunk);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const kill = (signal: NodeJS.Signals, group: boolean) => {
      try {
        process.kill(group ? -child.pid! : child.pid!, signal);
      } catch {
        // Already gone.
      }
    };
    let escalation: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      output += `\n(the blocks did not finish within ${timeoutMs} ms)`;
      kill('SIGTERM', false);
      escalation = setTimeout(() => kill('SIGKILL', true), 5_000);
    }, timeoutMs);
    child.on('error', reject);
    // 'exit', not 'close': a background job that outlived bash would hold the pipes open.
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(escalation);
      // Give the pipes a moment to deliver what bash wrote last.
      setTimeout(() => resolve({ code, signal, output }), 200);
    });
  });
}
