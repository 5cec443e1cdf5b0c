import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';

export type Database = PrismaClient;

export function createDatabase(url: string, poolSize = 20): Database {
  const adapter = new PrismaPg({ connectionString: url, max: poolSize });
  return new PrismaClient({
    adapter,
    // Spends wait for the per-user lock; under load that can take longer than Prisma's 2 s default.
    transactionOptions: { maxWait: 15_000, timeout: 15_000 },
  });
}
