import type { Tx } from '../../platform/database';
import type { LedgerEntryType } from '../../generated/prisma/enums';

/** One balance change on one grant. amount = change to available credits. */
export interface Movement {
  grantId: string;
  entryType: LedgerEntryType;
  amount: number;
  reservedDelta?: number;
  usedDelta?: number;
}

export interface MovementContext {
  userId: string;
  referenceType: 'consumption' | 'reservation' | 'refund' | 'grant';
  referenceId: string;
  idempotencyKey?: string | undefined;
  actor: string;
}

/**
 * Applies movements to grants and appends one ledger entry per movement, in one statement of the
 * caller's transaction (the hot path of every spend). total changes by amount + reserved + used, so a
 * grant's ledger always sums to its balance columns. A grant whose available credits reach zero becomes
 * depleted; one that gets credits back is active again. Movements of one grant are summed before the
 * UPDATE, because UPDATE ... FROM applies only one matching row per target row.
 */
export async function applyMovements(tx: Tx, context: MovementContext, movements: Movement[]): Promise<void> {
  if (movements.length === 0) return;
  const grantIds = movements.map((m) => m.grantId);
  const entryTypes = movements.map((m) => m.entryType);
  const amounts = movements.map((m) => m.amount);
  const reservedDeltas = movements.map((m) => m.reservedDelta ?? 0);
  const usedDeltas = movements.map((m) => m.usedDelta ?? 0);
  const written = await tx.$executeRaw`
    WITH moves AS (
      SELECT * FROM unnest(${grantIds}::uuid[], ${entryTypes}::text[], ${amounts}::int[], ${reservedDeltas}::int[], ${usedDeltas}::int[])
        AS m(grant_id, entry_type, amount, reserved_delta, used_delta)
    ),
    per_grant AS (
      SELECT grant_id, sum(amount + reserved_delta + used_delta)::int AS total_delta,
             sum(reserved_delta)::int AS reserved_delta, sum(used_delta)::int AS used_delta
      FROM moves GROUP BY grant_id
    ),
    updated AS (
      UPDATE user_packages g SET
        total_credits = g.total_credits + p.total_delta,
        used_credits = g.used_credits + p.used_delta,
        reserved_credits = g.reserved_credits + p.reserved_delta,
        status = CASE
          WHEN g.status NOT IN ('active', 'depleted') THEN g.status
          WHEN g.total_credits + p.total_delta - (g.used_credits + p.used_delta) - (g.reserved_credits + p.reserved_delta) = 0
            THEN 'depleted'::"GrantStatus"
          ELSE 'active'::"GrantStatus"
        END,
        updated_at = now()
      FROM per_grant p
      WHERE g.id = p.grant_id AND g.user_id = ${context.userId}
      RETURNING g.id
    )
    INSERT INTO credit_ledger_entries
      (user_id, user_package_id, entry_type, amount, reserved_delta, used_delta, reference_type, reference_id, idempotency_key, actor)
    SELECT ${context.userId}, m.grant_id, m.entry_type::"LedgerEntryType", m.amount, m.reserved_delta, m.used_delta,
           ${context.referenceType}, ${context.referenceId}, ${context.idempotencyKey ?? null}, ${context.actor}
    FROM moves m
    -- Only grants of this user that were updated: a foreign grant id writes nothing at all.
    WHERE m.grant_id IN (SELECT id FROM updated)`;
  if (written !== movements.length) {
    // A caller passed a grant that is not this user's: a bug, so the whole transaction rolls back.
    throw new Error(`applyMovements: ${movements.length - written} movement(s) name grants user ${context.userId} does not own`);
  }
}
