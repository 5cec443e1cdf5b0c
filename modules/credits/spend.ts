import { randomUUID } from 'node:crypto';
import { DatabaseError } from 'pg';
import type { BillingError } from '../../platform/errors';
import { keyReused } from '../../platform/idempotency/key-reuse';
import { sqlPool, type Database } from '../../platform/database';
import { countCreditOperation } from '../../platform/metrics';
import { insufficientCredits, spendableCredits } from './grants';
import { actionDisabled, priceAction, quantityTooLarge, unknownAction } from './pricing';
import type { Idempotency, IdempotentResult } from '../../platform/idempotency/store';
import type { ConsumptionView } from './views';
import { balanceLowThreshold } from '../events';

export interface CreditCheck {
  userId: string;
  actionKey: string;
  quantity: number;
  required: number;
  available: number;
  sufficient: boolean;
}

/** Read-only: would this action be affordable now? (No hold: use a reservation to be sure.) */
export async function checkCredits(db: Database, userId: string, actionKey: string, quantity: number): Promise<CreditCheck> {
  const priced = await priceAction(db, actionKey, quantity);
  const available = await db.$transaction((tx) => spendableCredits(tx, userId, new Date()));
  return { userId, actionKey, quantity, required: priced.credits, available, sufficient: available >= priced.credits };
}

export interface DeductRequest {
  userId: string;
  actionKey: string;
  quantity: number;
  metadata?: Record<string, unknown> | undefined;
}

/**
 * The deduct's one statement: the migration-managed function `deduct_credits`
 * (prisma/migrations/20261215000000_deduct_function) does the idempotency claim or replay, the price,
 * the user's lock, the burn-down, the consumption, allocations, grant updates, ledger entries, the
 * `credits.deducted` event, the balance-low rule and the stored answer, in one round trip. Prepared
 * once per connection (named statement).
 */
export const DEDUCT_STATEMENT = {
  name: 'deduct_credits',
  text: 'SELECT was_replayed, answer FROM deduct_credits($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
} as const;

/** The arguments of DEDUCT_STATEMENT, in order (the bench sends exactly these: scripts/bench/scenarios/deduct.ts). */
export function deductArguments(request: DeductRequest, idempotency: Idempotency, actor: string, consumptionId: string, now: Date, threshold: number): unknown[] {
  return [
    idempotency.scope,
    idempotency.key,
    idempotency.requestHash,
    actor,
    request.userId,
    request.actionKey,
    request.quantity,
    request.metadata === undefined ? null : JSON.stringify(request.metadata),
    consumptionId,
    now,
    threshold,
  ];
}

/**
 * The function's refusals (SQLSTATE class DB, the stable code as message, details as JSON), worded as
 * the Prisma path words them. `message`/`detail`: the error's, from a raised error or a batch's row.
 */
export function deductRefusal(message: string, detail: string | null | undefined, request: DeductRequest): BillingError | undefined {
  switch (message) {
    case 'IDEMPOTENCY_KEY_REUSED':
      return keyReused();
    case 'NOT_FOUND':
      return unknownAction(request.actionKey);
    case 'ACTION_DISABLED':
      return actionDisabled(request.actionKey);
    case 'VALIDATION_FAILED':
      return quantityTooLarge(request.actionKey, request.quantity);
    case 'INSUFFICIENT_CREDITS': {
      const { required, available } = JSON.parse(detail ?? '{}') as { required: number; available: number };
      return insufficientCredits(required, available);
    }
    default:
      return undefined;
  }
}

/** What one deduct_credits call answers: the stored answer's text, and whether it was a replay. */
export interface DeductRow {
  was_replayed: boolean;
  answer: string;
}

/** One deduct in its own round trip and transaction. */
export async function deductAlone(db: Database, values: unknown[], request: DeductRequest): Promise<DeductRow> {
  try {
    const { rows } = await sqlPool(db).query<DeductRow>({ ...DEDUCT_STATEMENT, values });
    return rows[0]!;
  } catch (error) {
    const refused = error instanceof DatabaseError && error.code?.startsWith('DB') ? deductRefusal(error.message, error.detail, request) : undefined;
    throw refused ?? error;
  }
}

/** Sends deducts on (modules/credits/deduct-batch.ts): one alone, or with others arriving at the same time. */
export interface DeductSender {
  send(values: unknown[], request: DeductRequest): Promise<DeductRow>;
}

/** Check and spend in one transaction, for quick one-shot actions: one prepared statement, one round trip. */
export async function deductCredits(
  db: Database,
  request: DeductRequest,
  idempotency: Idempotency,
  actor: string,
  /** Group commit (the API's): the deduct may share a transaction with concurrent ones. Absent: alone. */
  sender?: DeductSender,
): Promise<IdempotentResult<ConsumptionView>> {
  return countCreditOperation('deduct', async () => {
    const values = deductArguments(request, idempotency, actor, randomUUID(), new Date(), balanceLowThreshold());
    const row = sender ? await sender.send(values, request) : await deductAlone(db, values, request);
    // The answer is the stored text itself, so the first answer and every replay are the same bytes.
    return { body: JSON.parse(row.answer) as ConsumptionView, replayed: row.was_replayed, bodyText: row.answer };
  });
}
