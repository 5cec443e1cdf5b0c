/**
 * Read-only answers about a user's balance for other modules (top-ups decide from them whether a
 * rule's threshold was crossed).
 */
import type { Database } from '../../platform/database';
import { spendableCredits } from './grants';

/** The credits the user could spend now (active, started, unexpired grants, less what is used or held). */
export async function availableCredits(db: Database, userId: string): Promise<number> {
  return db.$transaction((tx) => spendableCredits(tx, userId, new Date()));
}

/** The id of the user's newest grant (any status), or null: it changes exactly when credits were added. */
export async function latestGrantId(db: Database, userId: string): Promise<string | null> {
  const grant = await db.userPackage.findFirst({ where: { userId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], select: { id: true } });
  return grant?.id ?? null;
}
