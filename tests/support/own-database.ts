/**
 * A database of a test file's own on the suite's PostgreSQL cluster, for tests that read whole tables
 * (pagination, the schema fuzzer, the inspection, the backup drill) and must not see other files' rows.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { migrate } from '../../prisma/migrate';
import { seedDatabase } from '../../prisma/seed';

/** Creates `<prefix>_<random>` and returns its URL; migrated and seeded unless `empty` (a restore target). */
export async function createOwnDatabase(prefix: string, options: { empty?: boolean } = {}): Promise<string> {
  const suiteUrl = new URL(process.env.TEST_DATABASE_URL!);
  const name = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new Client({ connectionString: suiteUrl.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(suiteUrl.toString());
  url.pathname = `/${name}`;
  if (!options.empty) {
    await migrate(url.toString());
    await seedDatabase(url.toString());
  }
  return url.toString();
}
