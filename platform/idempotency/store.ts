/**
 * The idempotency store: the first answer to every mutating call, by (credential scope, key), claimed in
 * the same transaction as the change it answers. Any feature and any entry point (HTTP, webhook,
 * activity) runs its writes through `runIdempotent`; an entry point that hands the work to a workflow
 * claims the key first with `claimKey`. One namespace per credential across all endpoints: a key is
 * bound to the first request (method, route, parameters) it was used for. See docs/architecture.md,
 * "Idempotency".
 */

import { sqlPool, type Database, type Tx } from '../database';
import { BillingError } from '../errors';
import { isReplayOf, type Idempotency } from './key-reuse';

export type { Idempotency } from './key-reuse';

export interface IdempotentResult<T> {
  body: T;
  replayed: boolean;
  /** The body's exact JSON text, when the store has it (answered as is: api/route.ts). */
  bodyText?: string;
}

/** status_code of a claim whose work is still under way (a workflow is doing it). */
const IN_PROGRESS = 0;
const DONE = 200;

interface StoredRecord {
  request_hash: string;
  status_code: number;
  response_text: string | null;
  response_body: unknown;
}

/**
 * The first answer exactly as it was sent: the answer is stored as its JSON text and parsed back, so a
 * replay serialises to the same bytes (same key order). Rows from before exact replays hold jsonb.
 */
function storedAnswer<T>(record: StoredRecord): T {
  return (record.response_text !== null ? JSON.parse(record.response_text) : record.response_body) as T;
}

const answerText = (body: unknown): string => JSON.stringify(body) ?? 'null';

async function lockRecord(tx: Tx, { scope, key }: Idempotency): Promise<StoredRecord | undefined> {
  const rows = await tx.$queryRaw<StoredRecord[]>`
    SELECT request_hash, status_code, response_text, response_body FROM idempotency_records
    WHERE scope = ${scope} AND key = ${key} FOR UPDATE`;
  return rows[0];
}

/**
 * Runs `work` in one database transaction that also claims the idempotency key.
 * The claim is an INSERT ... ON CONFLICT DO NOTHING on the key's primary key, so two concurrent
 * requests with one key serialise on it: the second waits for the first to commit (then replays its
 * answer) or to roll back (then does the work itself). A claim in progress for this same request (made
 * by `claimKey` before a workflow was started) is taken over: the work is done here and its answer
 * stored. A failed request stores nothing.
 */
export async function runIdempotent<T>(
  db: Database,
  idempotency: Idempotency | undefined,
  work: (tx: Tx) => Promise<T>,
  /** A transaction longer than the database client's default (work that waits for another service). */
  options: { timeoutMs?: number } = {},
): Promise<IdempotentResult<T>> {
  return db.$transaction(async (tx) => {
    if (idempotency) {
      const stored = await claimOrLock(tx, idempotency);
      if (stored) {
        isReplayOf(stored.request_hash, idempotency.requestHash);
        if (stored.status_code !== IN_PROGRESS) return { body: storedAnswer<T>(stored), replayed: true };
      }
    }
    const body = await work(tx);
    if (idempotency) await storeAnswer(tx, idempotency, body);
    return { body, replayed: false };
  }, options.timeoutMs === undefined ? undefined : { timeout: options.timeoutMs });
}

/**
 * Claims the key in the caller's transaction (undefined), or locks and returns the record that holds
 * it. A record freed between the two statements (a refused request's claim: `abandonClaim`) is claimed
 * afresh: work done without holding the key could not stop a concurrent retry from doing it again.
 */
async function claimOrLock(tx: Tx, idempotency: Idempotency): Promise<StoredRecord | undefined> {
  const { scope, key, requestHash } = idempotency;
  for (;;) {
    const claimed = await tx.$executeRaw`
      INSERT INTO idempotency_records (scope, key, request_hash, status_code)
      VALUES (${scope}, ${key}, ${requestHash}, ${IN_PROGRESS})
      ON CONFLICT DO NOTHING`;
    if (claimed === 1) return undefined;
    const stored = await lockRecord(tx, idempotency);
    if (stored) return stored;
  }
}

/** Completes the claim this transaction holds (inserted or locked by `claimOrLock`). */
async function storeAnswer(tx: Tx, { scope, key, requestHash }: Idempotency, body: unknown): Promise<void> {
  await tx.$executeRaw`
    UPDATE idempotency_records SET status_code = ${DONE}, response_text = ${answerText(body)}
    WHERE scope = ${scope} AND key = ${key} AND request_hash = ${requestHash}`;
}

type Claim<T> = { state: 'claimed' } | { state: 'done'; body: T };

/**
 * Claims a key before handing its work to a workflow, so the key is taken in the credential's one
 * namespace whichever endpoint used it first: another request under the key is refused
 * (IDEMPOTENCY_KEY_REUSED), a retry of a finished request gets the stored first answer, and a retry of
 * one still under way goes on to the workflow, which deduplicates it.
 */
async function claimKey<T>(db: Database, idempotency: Idempotency): Promise<Claim<T>> {
  const { scope, key, requestHash } = idempotency;
  // One round trip on the hot path (every reserve, commit, release, extend, refund through the API).
  const { rows } = await sqlPool(db).query<StoredRecord & { claimed: boolean }>({ ...CLAIM_STATEMENT, values: [scope, key, requestHash] });
  const row = rows[0];
  // No row: the key was taken by a request that committed after this statement's snapshot, or freed
  // while it ran. Rare; judged afresh with the record locked.
  if (!row) return claimKeyLocked(db, idempotency);
  if (row.claimed) return { state: 'claimed' };
  isReplayOf(row.request_hash, requestHash);
  return row.status_code === IN_PROGRESS ? { state: 'claimed' } : { state: 'done', body: storedAnswer<T>(row) };
}

/**
 * The claim, or the record that holds the key, in one statement. The record is read without waiting
 * for a transaction that holds it: a claim still in progress (status 0) sends the request on to its
 * workflow, which deduplicates it by its update id, exactly as after waiting.
 */
const CLAIM_STATEMENT = {
  name: 'claim_idempotency_key',
  text: `
    WITH claimed AS (
      INSERT INTO idempotency_records (scope, key, request_hash, status_code)
      VALUES ($1, $2, $3, ${IN_PROGRESS})
      ON CONFLICT DO NOTHING
      RETURNING 1
    )
    SELECT true AS claimed, NULL::text AS request_hash, NULL::int AS status_code, NULL::text AS response_text, NULL::jsonb AS response_body
    FROM claimed
    UNION ALL
    SELECT false, r.request_hash, r.status_code, r.response_text, r.response_body
    FROM idempotency_records r
    WHERE r.scope = $1 AND r.key = $2 AND NOT EXISTS (SELECT 1 FROM claimed)`,
} as const;

async function claimKeyLocked<T>(db: Database, idempotency: Idempotency): Promise<Claim<T>> {
  return db.$transaction(async (tx) => {
    const stored = await claimOrLock(tx, idempotency);
    if (!stored) return { state: 'claimed' };
    isReplayOf(stored.request_hash, idempotency.requestHash);
    return stored.status_code === IN_PROGRESS ? { state: 'claimed' } : { state: 'done', body: storedAnswer<T>(stored) };
  });
}

const COMPLETE_STATEMENT = {
  name: 'complete_idempotency_claim',
  text: `
    INSERT INTO idempotency_records (scope, key, request_hash, status_code, response_text)
    VALUES ($1, $2, $3, ${DONE}, $4)
    ON CONFLICT (scope, key) DO UPDATE SET status_code = EXCLUDED.status_code, response_text = EXCLUDED.response_text
    WHERE idempotency_records.status_code = ${IN_PROGRESS} AND idempotency_records.request_hash = EXCLUDED.request_hash`,
} as const;

/** Records the answer to a claimed key (a no-op when the workflow's activity already stored it). One prepared statement. */
async function completeClaim(db: Database, { scope, key, requestHash }: Idempotency, body: unknown): Promise<void> {
  await sqlPool(db).query({ ...COMPLETE_STATEMENT, values: [scope, key, requestHash, answerText(body)] });
}

/** Frees a key whose request was refused: a failed request stores nothing, so a retry is judged afresh. */
async function abandonClaim(db: Database, { scope, key, requestHash }: Idempotency): Promise<void> {
  await db.$executeRaw`
    DELETE FROM idempotency_records
    WHERE scope = ${scope} AND key = ${key} AND request_hash = ${requestHash} AND status_code = ${IN_PROGRESS}`;
}

/**
 * Work done outside this database (by a workflow) once per key: the key is claimed first (`claimKey`), a
 * finished request's stored answer is replayed, the answer is stored when it arrives, and a refusal
 * frees the key. A retry while the first is still under way runs `work` too, so the work must itself
 * be idempotent (a workflow id derived from the key, started with the USE_EXISTING conflict policy).
 */
export async function runClaimed<T>(db: Database, idempotency: Idempotency, work: () => Promise<T>): Promise<IdempotentResult<T>> {
  const claim = await claimKey<T>(db, idempotency);
  if (claim.state === 'done') return { body: claim.body, replayed: true };
  try {
    const body = await work();
    await completeClaim(db, idempotency, body);
    return { body, replayed: false };
  } catch (error) {
    if (error instanceof BillingError && error.httpStatus < 500) await abandonClaim(db, idempotency);
    throw error;
  }
}

/** The stored first answer for a key, if any; used when the workflow that did the work has closed. */
export async function findStoredResult<T>(db: Database, idempotency: Idempotency): Promise<T | undefined> {
  const rows = await db.$queryRaw<StoredRecord[]>`
    SELECT request_hash, status_code, response_text, response_body FROM idempotency_records
    WHERE scope = ${idempotency.scope} AND key = ${idempotency.key}`;
  const stored = rows[0];
  if (!stored) return undefined;
  isReplayOf(stored.request_hash, idempotency.requestHash);
  return stored.status_code === IN_PROGRESS ? undefined : storedAnswer<T>(stored);
}

