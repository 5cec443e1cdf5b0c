import type { Database } from './database';

/** The readiness probe's query: the cheapest round trip that proves PostgreSQL answers (GET /readyz). */
export async function pingDatabase(db: Database): Promise<void> {
  await db.$queryRaw`SELECT 1`;
}
