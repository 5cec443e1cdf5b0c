/**
 * Group commit for the API's deducts (docs/performance.md, target 2). On a busy API most of a deduct's database
 * cost is per transaction and per round trip, not per row: the commit and its WAL flush, the statement
 * round trip, the function call. So deducts that arrive while others are being written wait for a slot
 * and then leave together, as ONE call of `deduct_credits_batch` (one statement, one transaction; see
 * its migration, 20261229000000_deduct_batch_function), each item still exactly one `deduct_credits`.
 *
 * Batching is "natural": no timer. A deduct that finds fewer than `maxGroupsInFlight` groups in flight
 * leaves at once, alone, by the one-deduct statement (a quiet API adds no latency and no batch
 * overhead); the ones that find every slot taken queue up and leave together when a slot frees. The
 * busier the database, the bigger the groups: the cost per deduct falls exactly when it matters.
 *
 * Guarantees kept from the single statement:
 * - per-user order: the group is sorted by user, stably, so one user's deducts run in arrival order;
 *   and concurrent groups take the per-user locks in that one global order (no lock cycles);
 * - idempotency per key: each item claims its own key, also against an earlier item of the same group;
 * - a refused item (a business refusal) rolls back alone, in its own subtransaction;
 * - any other failure rolls the whole group back and its deducts are sent again one by one; their keys
 *   make that safe even if the group had in fact committed (the retry replays the stored answer).
 *
 * Not DataLoader: it groups the calls made in one tick of the event loop, and HTTP requests arrive in
 * different ticks, so its groups would be of one.
 */
import { sqlPool, type Database } from '../../platform/database';
import { deductAlone, deductRefusal, type DeductRequest, type DeductRow, type DeductSender } from './spend';

export const DEDUCT_BATCH_STATEMENT = {
  name: 'deduct_credits_batch',
  text:
    'SELECT item, was_replayed, answer, refusal_code, refusal_message, refusal_detail ' +
    'FROM deduct_credits_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
} as const;

/** The number of per-item arrays deduct_credits_batch takes: deductArguments' values but the last (the threshold, shared). */
const PER_ITEM_ARGUMENTS = 10;

interface BatchRow {
  item: number;
  was_replayed: boolean | null;
  answer: string | null;
  refusal_code: string | null;
  refusal_message: string | null;
  refusal_detail: string | null;
}

interface Waiting {
  values: unknown[];
  request: DeductRequest;
  resolve(row: DeductRow): void;
  reject(error: unknown): void;
}

export interface DeductBatchOptions {
  /** Most deducts in one group (<= 60: PostgreSQL caches 64 subtransactions per transaction). */
  maxGroupSize: number;
  /** Groups written at once, each on its own pooled connection. */
  maxGroupsInFlight: number;
}

/** The deducts of `group` as deduct_credits_batch's arguments: one array per argument, then the threshold. */
export function batchArguments(group: ReadonlyArray<{ values: unknown[] }>): unknown[] {
  const columns = Array.from({ length: PER_ITEM_ARGUMENTS }, (_, column) => group.map((deduct) => deduct.values[column]));
  return [...columns, group[0]!.values[PER_ITEM_ARGUMENTS]];
}

/** By user id, stably (Array.prototype.sort is stable): the lock order every group follows. */
function byUser(a: Waiting, b: Waiting): number {
  return a.request.userId < b.request.userId ? -1 : a.request.userId > b.request.userId ? 1 : 0;
}

export class DeductBatcher implements DeductSender {
  readonly #waiting: Waiting[] = [];
  #inFlight = 0;
  /** How the deducts left: alone, or in how many groups with how many deducts (counters, never reset). */
  readonly written = { alone: 0, groups: 0, grouped: 0, groupsRetriedAlone: 0 };

  constructor(
    private readonly db: Database,
    private readonly options: DeductBatchOptions,
  ) {}

  send(values: unknown[], request: DeductRequest): Promise<DeductRow> {
    return new Promise<DeductRow>((resolve, reject) => {
      this.#waiting.push({ values, request, resolve, reject });
      this.#dispatch();
    });
  }

  #dispatch(): void {
    while (this.#inFlight < this.options.maxGroupsInFlight && this.#waiting.length > 0) {
      const group = this.#waiting.splice(0, this.options.maxGroupSize);
      this.#inFlight++;
      void this.#write(group).finally(() => {
        this.#inFlight--;
        this.#dispatch();
      });
    }
  }

  async #write(group: Waiting[]): Promise<void> {
    if (group.length === 1) return this.#alone(group[0]!);
    group.sort(byUser);
    this.written.groups++;
    this.written.grouped += group.length;
    let rows: BatchRow[];
    try {
      ({ rows } = await sqlPool(this.db).query<BatchRow>({ ...DEDUCT_BATCH_STATEMENT, values: batchArguments(group) }));
      if (rows.length !== group.length) throw new Error(`deduct_credits_batch answered ${rows.length} rows for ${group.length} deducts`);
    } catch {
      // The whole group rolled back (a deadlock with a concurrent claim of the same key, a lost
      // connection, ...): each deduct again on its own, where its own error, if any, is its answer.
      this.written.groupsRetriedAlone++;
      await Promise.all(group.map((deduct) => this.#alone(deduct)));
      return;
    }
    for (const row of rows) {
      const deduct = group[row.item - 1]!;
      if (row.refusal_code === null) {
        deduct.resolve({ was_replayed: row.was_replayed!, answer: row.answer! });
      } else {
        deduct.reject(
          deductRefusal(row.refusal_message ?? '', row.refusal_detail, deduct.request) ??
            new Error(`deduct_credits refused with ${row.refusal_code}: ${row.refusal_message}`),
        );
      }
    }
  }

  #alone(deduct: Waiting): Promise<void> {
    this.written.alone++;
    return deductAlone(this.db, deduct.values, deduct.request).then(deduct.resolve, deduct.reject);
  }
}

/** The API's deduct sender from its configuration: group commit, or none (each deduct alone). */
export function deductSenderFor(
  db: Database,
  config: { DEDUCT_GROUP_COMMIT: boolean; DEDUCT_GROUP_MAX_SIZE: number; DEDUCT_GROUPS_IN_FLIGHT: number },
): DeductSender | undefined {
  if (!config.DEDUCT_GROUP_COMMIT) return undefined;
  return new DeductBatcher(db, { maxGroupSize: config.DEDUCT_GROUP_MAX_SIZE, maxGroupsInFlight: config.DEDUCT_GROUPS_IN_FLIGHT });
}
