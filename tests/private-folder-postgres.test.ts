/**
 * `npm run dev` wherever the project is cloned: as root, PostgreSQL runs as the `postgres` user, which
 * cannot enter a private folder (a fresh `mktemp -d` is mode 700). The launcher must still start the
 * cluster, without opening that folder up, and say where the data went.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startPostgres, type LocalPostgres } from '../scripts/services';

const asRoot = process.getuid?.() === 0;
let privateDir: string;
let postgres: LocalPostgres | undefined;

beforeAll(() => {
  privateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-billing-private-'));
  expect(fs.statSync(privateDir).mode & 0o777).toBe(0o700);
});

afterAll(async () => {
  await postgres?.stop();
  fs.rmSync(privateDir, { recursive: true, force: true });
});

it('starts a cluster for a data dir inside a mode-700 folder, leaving the folder private', async () => {
  const requested = path.join(privateDir, 'clone', '.data', 'postgres');
  postgres = await startPostgres({ dataDir: requested, ephemeral: true });

  const client = new Client({ connectionString: postgres.url });
  await client.connect();
  try {
    expect((await client.query('SELECT current_database() AS name')).rows[0].name).toBe('durable_billing');
  } finally {
    await client.end();
  }
  expect(fs.statSync(privateDir).mode & 0o777).toBe(0o700);

  if (asRoot) {
    // Moved out of reach of the private folder, to a place named after the requested path, and said so.
    expect(postgres.dataDir.startsWith(privateDir)).toBe(false);
    expect(postgres.dataDir).toMatch(/durable-billing-postgres-[0-9a-f]{12}\/postgres$/);
    expect(postgres.relocatedFrom).toEqual({ dataDir: requested, reason: expect.stringContaining(privateDir) });
    expect(fs.readFileSync(path.join(path.dirname(postgres.dataDir), 'ORIGIN'), 'utf8')).toContain(requested);
  } else {
    // Not root: PostgreSQL runs as this user, who can reach its own folder.
    expect(postgres.dataDir).toBe(requested);
    expect(postgres.relocatedFrom).toBeUndefined();
  }

  const dataDir = postgres.dataDir;
  await postgres.stop();
  postgres = undefined;
  // An ephemeral cluster moved out of the caller's folder is deleted with it.
  if (asRoot) expect(fs.existsSync(path.dirname(dataDir))).toBe(false);
});
