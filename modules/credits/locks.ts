import type { Tx } from '../../platform/database';

/**
 * Serialises every balance change of one user. All writers take this lock before touching a user's
 * grants, so no two spends interleave (no double spend) and lock order is trivially consistent
 * (no deadlocks). Different users never contend.
 */
export async function lockUserCredits(tx: Tx, userId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${userId}, 0))`;
}
