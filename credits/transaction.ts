import type { Database } from '../infra/database';
import type { Prisma } from '../generated/prisma/client';
import { BillingError } from '../domain/errors';

export type Tx = Prisma.TransactionClient;

/** Who asked for a write, and under which key; a retry with the same key replays the first answer. */
export interface Idempotency {
  /** The caller's namespace for keys, e.g. `service:checkout` or `admin:ops-1`. */
  scope: string;
  key: string;
  /** Hash of the operation and its parameters; the same key with other parameters is rejected. */
  requestHash: string;
}

export interface IdempotentResult<T> {
  body: T;
  replayed: boolean;
}

/**
 * Runs `work` in one database transaction that also claims the idempotency key.
 * The claim is an INSERT ... ON CONFLICT DO NOTHING on the key's primary key, so two concurrent
 * requests with one key serialise on it: the second waits for the first to commit (then replays its
 * answer) or to roll back (then does the work itself). A failed request stores nothing.
 */
export async function runIdempotent<T>(
  db: Database,
  idempotency: Idempotency | undefined,
  work: (tx: Tx) => Promise<T>,
): Promise<IdempotentResult<T>> {
  return db.$transaction(async (tx) => {
    if (idempotency) {
      const { scope, key, requestHash } = idempotency;
      const claimed = await tx.$executeRaw`
        INSERT INTO idempotency_records (scope, key, request_hash, status_code, response_body)
        VALUES (${scope}, ${key}, ${requestHash}, 0, '{}'::jsonb)
        ON CONFLICT DO NOTHING`;
      if (claimed === 0) {
        const stored = await tx.idempotencyRecord.findUniqueOrThrow({ where: { scope_key: { scope, key } } });
        assertSameRequest(stored.requestHash, requestHash);
        return { body: stored.responseBody as T, replayed: true };
      }
    }
    const body = await work(tx);
    if (idempotency) {
      const { scope, key } = idempotency;
      await tx.idempotencyRecord.update({
        where: { scope_key: { scope, key } },
        data: { statusCode: 200, responseBody: body as Prisma.InputJsonValue },
      });
    }
    return { body, replayed: false };
  });
}

/** The stored first answer for a key, if any; used when the workflow that did the work has closed. */
export async function findStoredResult<T>(db: Database, idempotency: Idempotency): Promise<T | undefined> {
  const stored = await db.idempotencyRecord.findUnique({
    where: { scope_key: { scope: idempotency.scope, key: idempotency.key } },
  });
  if (!stored) return undefined;
  assertSameRequest(stored.requestHash, idempotency.requestHash);
  return stored.responseBody as T;
}

function assertSameRequest(storedHash: string, requestHash: string): void {
  if (storedHash !== requestHash) {
    throw new BillingError(
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used with different parameters; use a new key for a new request.',
    );
  }
}

/**
 * Serialises every balance change of one user. All writers take this lock before touching a user's
 * grants, so no two spends interleave (no double spend) and lock order is trivially consistent
 * (no deadlocks). Different users never contend.
 */
export async function lockUserCredits(tx: Tx, userId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${userId}, 0))`;
}
