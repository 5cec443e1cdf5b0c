import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { Prisma, PrismaClient } from '../generated/prisma/client';

export type Database = PrismaClient;

/** A transaction's client: what every multi-statement write receives. */
export type Tx = Prisma.TransactionClient;

/** The `pg` pool under each database client, for the hot paths that bypass Prisma (see `sqlPool`). */
const pools = new WeakMap<Database, Pool>();

export function createDatabase(url: string, poolSize = 20, connectTimeoutMs = 5_000): Database {
  // Sessions in UTC: Prisma's pg adapter writes and reads timestamps without their offset, so any other
  // session time zone would shift stored instants against SQL's now() and the day buckets of reports.
  // A connect timeout, so a call fails (503) instead of hanging when the server does not answer.
  // One pool for Prisma and for the hot paths' own statements: the connection budget stays poolSize.
  const pool = new Pool({ connectionString: url, max: poolSize, options: '-c TimeZone=UTC', connectionTimeoutMillis: connectTimeoutMs });
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  const db = new PrismaClient({
    adapter,
    // Spends wait for the per-user lock; under load that can take longer than Prisma's 2 s default.
    transactionOptions: { maxWait: 15_000, timeout: 15_000 },
  });
  pools.set(db, pool);
  return db;
}

/**
 * The `pg` pool of a database client made by `createDatabase`: for a hot path that is one prepared
 * statement (credits/spend.ts, the deduct), where Prisma's per-query cost would be most of the work.
 * Everything else goes through Prisma.
 */
export function sqlPool(db: Database): Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error('sqlPool: this database client was not made by createDatabase');
  return pool;
}

/** A unique constraint refused the write (Prisma's P2002), e.g. two concurrent creates of one code. */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
