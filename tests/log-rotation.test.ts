/**
 * The documented rotation path for a file-based deploy (deploy/logrotate/durable-billing, copytruncate):
 * a real API process writes its JSON log lines to a file opened for appending, as systemd's
 * `StandardOutput=append:` does; logrotate rotates it between two bursts of deducts; every request line is
 * then in exactly one of the two files, both are clean JSON lines (no zero bytes where the old offset
 * was), and the API keeps writing to the same path. Also measures the log volume per 1,000 deducts at
 * the default level that docs/operations.md quotes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findDebianTool } from '../scripts/services/debian-tools';
import { findFreePort } from '../scripts/services/processes';
import { createDatabase, type Database } from '../platform/database';
import { ADMIN_KEY, SERVICE_KEY, USER_TOKEN_SECRET, grantCredits, newUserId } from './support/stack';
import { waitFor } from './support/wait';

const ROOT = path.join(__dirname, '..');
const CONFIG = path.join(ROOT, 'deploy', 'logrotate', 'durable-billing');
const DEDUCT_PATH = '/v1/internal/credits/deduct';
/** Bytes of log per 1,000 deducts at the default level, as docs/operations.md states it (±15 %). */
const DOCUMENTED_BYTES_PER_1000_DEDUCTS = 251_000;

const logrotate = findDebianTool('logrotate');
const describeWithLogrotate = logrotate || process.env.CI ? describe : describe.skip;

describeWithLogrotate('logrotate with copytruncate on a file the API writes', () => {
  let dir: string;
  let logFile: string;
  let api: ChildProcess | undefined;
  let db: Database;
  let baseUrl: string;
  const userId = newUserId('logs');

  beforeAll(async () => {
    if (!logrotate) throw new Error('logrotate not found: `npm run setup` installs it (Debian package `logrotate`).');
    dir = mkdtempSync(path.join(tmpdir(), 'billing-logs-'));
    logFile = path.join(dir, 'api.log');
    db = createDatabase(process.env.TEST_DATABASE_URL!, 2);
    await grantCredits(db, userId, 10_000);
    const port = await findFreePort();
    baseUrl = `http://127.0.0.1:${port}`;
    // O_APPEND, like `>>` or systemd's StandardOutput=append: (the config's precondition).
    const out = openSync(logFile, 'a');
    api = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'api', 'main.ts')], {
      cwd: ROOT,
      stdio: ['ignore', out, out],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        DATABASE_URL: process.env.TEST_DATABASE_URL,
        TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
        TEMPORAL_TASK_QUEUE: `log-rotation-${port}`,
        PORT: String(port),
        SERVICE_API_KEYS: SERVICE_KEY,
        ADMIN_API_KEYS: ADMIN_KEY,
        USER_TOKEN_SECRET,
        WEBHOOK_SECRETS_KEY: Buffer.alloc(32, 'log-rotation-test').toString('base64'),
        STRIPE_SECRET_KEY: 'sk_test_logRotationTest',
        STRIPE_WEBHOOK_SECRET: 'whsec_log_rotation_test',
        // Rate limits at their defaults would throttle the bursts: one service key, 6000 per minute is enough.
      },
    });
    closeSync(out);
    await waitFor(() => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('"msg":"api listening"'), 60_000, 'the API to listen');
  });

  afterAll(async () => {
    if (api && api.exitCode === null) {
      const exited = new Promise((resolve) => api!.once('exit', resolve));
      api.kill('SIGTERM');
      await exited;
    }
    await db?.$disconnect();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Sends `count` deducts, `concurrency` at a time, each with its own request id (a UUID, as the API makes one). */
  async function deducts(count: number, concurrency = 8): Promise<string[]> {
    const ids = Array.from({ length: count }, () => randomUUID());
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < ids.length) {
          const id = ids[next++]!;
          const response = await fetch(`${baseUrl}${DEDUCT_PATH}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${SERVICE_KEY}`, 'content-type': 'application/json', 'idempotency-key': id, 'x-request-id': id },
            body: JSON.stringify({ userId, actionKey: 'ai_chat' }),
          });
          expect(response.status).toBe(201);
          await response.arrayBuffer();
        }
      }),
    );
    return ids;
  }

  function requestLines(file: string): Array<{ id: string; url: string; bytes: number }> {
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('\0'); // a writer without O_APPEND leaves zero bytes up to its old offset
    return text
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => {
        const parsed = JSON.parse(line) as { req?: { id: string; url: string } };
        return { id: parsed.req?.id ?? '', url: parsed.req?.url ?? '', bytes: Buffer.byteLength(line) + 1 };
      })
      .filter((line) => line.id !== '');
  }

  async function allLogged(file: string, ids: string[]): Promise<void> {
    await waitFor(() => {
      const logged = new Set(requestLines(file).map((line) => line.id));
      return ids.every((id) => logged.has(id));
    }, 60_000, `${ids.length} request lines in ${path.basename(file)}`);
  }

  it('loses no line across a rotation, writes clean JSON lines to both files, and keeps writing to the same path', async () => {
    const before = await deducts(500);
    await allLogged(logFile, before);

    const config = path.join(dir, 'logrotate.conf');
    const original = readFileSync(CONFIG, 'utf8');
    expect(original).toMatch(/^\s*copytruncate$/m);
    writeFileSync(config, original.replace('/var/log/durable-billing/*.log', path.join(dir, '*.log')), { mode: 0o644 });
    const rotated = spawnSync(logrotate!, ['-f', '-s', path.join(dir, 'state'), config], { encoding: 'utf8' });
    expect({ code: rotated.status, output: `${rotated.stdout}${rotated.stderr}` }).toEqual({ code: 0, output: '' });

    const after = await deducts(500);
    await allLogged(logFile, after);

    const old = requestLines(`${logFile}.1`); // delaycompress: the newest rotated file stays plain text
    const current = requestLines(logFile);
    const count = (lines: Array<{ id: string }>, id: string) => lines.filter((line) => line.id === id).length;
    for (const id of before) expect({ id, old: count(old, id), current: count(current, id) }).toEqual({ id, old: 1, current: 0 });
    for (const id of after) expect({ id, old: count(old, id), current: count(current, id) }).toEqual({ id, old: 0, current: 1 });

    // Log volume at the default level (info): the deducts' request lines, per 1,000 deducts.
    const deductLines = [...old, ...current].filter((line) => line.url === DEDUCT_PATH && (before.includes(line.id) || after.includes(line.id)));
    expect(deductLines).toHaveLength(1000);
    const bytesPer1000 = deductLines.reduce((sum, line) => sum + line.bytes, 0);
    console.log(`log volume: ${bytesPer1000} bytes per 1,000 deducts (${(bytesPer1000 / 1000).toFixed(0)} bytes a request line)`);
    expect(bytesPer1000).toBeGreaterThan(DOCUMENTED_BYTES_PER_1000_DEDUCTS * 0.85);
    expect(bytesPer1000).toBeLessThan(DOCUMENTED_BYTES_PER_1000_DEDUCTS * 1.15);
  });
});
