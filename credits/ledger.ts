import type { Tx } from './transaction';
import type { LedgerEntryType } from '../generated/prisma/enums';

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
  idempotencyKey?: string;
  actor: string;
}

/**
 * Applies movements to grants and appends one ledger entry per movement, in the caller's transaction.
 * total changes by amount + reserved + used, so a grant's ledger always sums to its balance columns.
 * A grant whose available credits reach zero becomes depleted; one that gets credits back is active again.
 */
export async function applyMovements(tx: Tx, context: MovementContext, movements: Movement[]): Promise<void> {
  for (const movement of movements) {
    const reservedDelta = movement.reservedDelta ?? 0;
    const usedDelta = movement.usedDelta ?? 0;
    const totalDelta = movement.amount + reservedDelta + usedDelta;
    await tx.$executeRaw`
      UPDATE user_packages SET
        total_credits = total_credits + ${totalDelta},
        used_credits = used_credits + ${usedDelta},
        reserved_credits = reserved_credits + ${reservedDelta},
        status = CASE
          WHEN status NOT IN ('active', 'depleted') THEN status
          WHEN total_credits + ${totalDelta} - (used_credits + ${usedDelta}) - (reserved_credits + ${reservedDelta}) = 0
            THEN 'depleted'::"GrantStatus"
          ELSE 'active'::"GrantStatus"
        END,
        updated_at = now()
      WHERE id = ${movement.grantId}::uuid AND user_id = ${context.userId}`;
  }
  if (movements.length === 0) return;
  await tx.creditLedgerEntry.createMany({
    data: movements.map((movement) => ({
      userId: context.userId,
      userPackageId: movement.grantId,
      entryType: movement.entryType,
      amount: movement.amount,
      reservedDelta: movement.reservedDelta ?? 0,
      usedDelta: movement.usedDelta ?? 0,
      referenceType: context.referenceType,
      referenceId: context.referenceId,
      idempotencyKey: context.idempotencyKey ?? null,
      actor: context.actor,
    })),
  });
}
