import { PrismaPg } from '@prisma/adapter-pg';
import { DatabaseError, Pool } from 'pg';
import { BillingError } from './errors';
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
 * statement (modules/credits/spend.ts, the deduct), where Prisma's per-query cost would be most of the work.
 * Everything else goes through Prisma.
 */
export function sqlPool(db: Database): Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error('sqlPool: this database client was not made by createDatabase');
  return pool;
}

/** PostgreSQL's SQLSTATE for a unique (or primary key) violation. */
const UNIQUE_VIOLATION = '23505';

/**
 * A unique constraint refused the write, e.g. two concurrent creates of one code: from a Prisma model
 * call (P2002), a Prisma raw query (P2010 carrying the driver's SQLSTATE) or a statement of our own on
 * the `pg` pool (`sqlPool`).
 */
export function isUniqueViolation(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    if (error.code === 'P2002') return true;
    const cause = (error.meta?.driverAdapterError as { cause?: { kind?: string; originalCode?: string } } | undefined)?.cause;
    return error.code === 'P2010' && (cause?.kind === 'UniqueConstraintViolation' || cause?.originalCode === UNIQUE_VIOLATION);
  }
  return error instanceof DatabaseError && error.code === UNIQUE_VIOLATION;
}

/**
 * Runs a create and turns a unique violation into ALREADY_EXISTS (409) rather than INTERNAL (500).
 * Catching the violation, not checking first, is what covers two concurrent creates of one name: both
 * checks would pass, and the second INSERT waits for the first to commit, then fails on the index.
 */
export async function uniqueOrConflict<T>(create: () => Promise<T>, message: string, details: Record<string, unknown>): Promise<T> {
  try {
    return await create();
  } catch (error) {
    if (isUniqueViolation(error)) throw new BillingError('ALREADY_EXISTS', message, details);
    throw error;
  }
}
