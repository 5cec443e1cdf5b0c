/**
 * The idempotency store: the first answer to every mutating call, by (credential scope, key), claimed in
 * the same transaction as the change it answers. Any feature and any entry point (HTTP, webhook,
 * activity) runs its writes through `runIdempotent`. See docs/architecture.md, "Idempotency".
 */
import type { Prisma } from '../generated/prisma/client';
import type { Database, Tx } from '../infra/database';
import { isReplayOf, type Idempotency } from '../domain/idempotency';

export type { Idempotency } from '../domain/idempotency';

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
        isReplayOf(stored.requestHash, requestHash);
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
  isReplayOf(stored.requestHash, idempotency.requestHash);
  return stored.responseBody as T;
}
