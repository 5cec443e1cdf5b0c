import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient } from '../generated/prisma/client';

export type Database = PrismaClient;

/** A transaction's client: what every multi-statement write receives. */
export type Tx = Prisma.TransactionClient;

export function createDatabase(url: string, poolSize = 20, connectTimeoutMs = 5_000): Database {
  // Sessions in UTC: Prisma's pg adapter writes and reads timestamps without their offset, so any other
  // session time zone would shift stored instants against SQL's now() and the day buckets of reports.
  // A connect timeout, so a call fails (503) instead of hanging when the server does not answer.
  const adapter = new PrismaPg({ connectionString: url, max: poolSize, options: '-c TimeZone=UTC', connectionTimeoutMillis: connectTimeoutMs });
  return new PrismaClient({
    adapter,
    // Spends wait for the per-user lock; under load that can take longer than Prisma's 2 s default.
    transactionOptions: { maxWait: 15_000, timeout: 15_000 },
  });
}

/** A unique constraint refused the write (Prisma's P2002), e.g. two concurrent creates of one code. */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
