import type { Database } from '../../platform/database';
import { BillingError } from '../../platform/errors';
import { grantExpiry, initialGrantStatus } from './rules/grants';
import { applyMovements } from './ledger';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';
import { lockUserCredits } from './locks';
import { grantView, type GrantView } from './views';
import { afterBalanceChange, recordEvent } from './events';

export interface AssignPackageRequest {
  userId: string;
  packageCode: string;
  source: 'purchase' | 'gift' | 'promotion' | 'system';
  note?: string | undefined;
  /** Overrides the package's default priority (lower is spent first). */
  priority?: number | undefined;
  /** Defaults to now; a later start makes the grant wait (it is skipped by spends until then). */
  startsAt?: Date | undefined;
  /** `pending` for grants awaiting something (e.g. payment); they are never spent from. */
  status?: 'active' | 'pending' | undefined;
  /** Overrides the package's duration (e.g. a subscription period's end); null = never expires. */
  expiresAt?: Date | null | undefined;
  /** Overrides the package's credits (e.g. the amount snapshotted on an order). */
  credits?: number | undefined;
  /** Grants a package that was disabled or deleted since (an order paid for while it was on sale). */
  evenIfWithdrawn?: boolean | undefined;
}

/** Gives a user a grant of a package's credits, valid for the package's duration (none = never expires). */
export async function assignPackage(
  db: Database,
  request: AssignPackageRequest,
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<GrantView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const billingPackage = await tx.billingPackage.findUnique({ where: { code: request.packageCode } });
    if (!billingPackage || (billingPackage.deletedAt && !request.evenIfWithdrawn)) {
      throw new BillingError('NOT_FOUND', `Package "${request.packageCode}" not found.`, { packageCode: request.packageCode });
    }
    if (billingPackage.status !== 'active' && !request.evenIfWithdrawn) {
      throw new BillingError('PACKAGE_UNAVAILABLE', `Package "${request.packageCode}" is disabled.`, {
        packageCode: request.packageCode,
      });
    }
    const now = new Date();
    const startsAt = request.startsAt ?? now;
    const expiresAt = request.expiresAt !== undefined ? request.expiresAt : grantExpiry(startsAt, billingPackage.durationDays);
    const creation = initialGrantStatus({ startsAt, expiresAt }, now, request.status);
    if (!creation.ok) {
      throw new BillingError('GRANT_ALREADY_EXPIRED', `A grant starting ${startsAt.toISOString()} would already have expired at ${creation.expiresAt.toISOString()}.`, {
        startsAt: startsAt.toISOString(),
        expiresAt: creation.expiresAt.toISOString(),
      });
    }
    await lockUserCredits(tx, request.userId);
    const grant = await tx.userPackage.create({
      data: {
        userId: request.userId,
        packageId: billingPackage.id,
        source: request.source,
        status: creation.status,
        totalCredits: 0, // the grant movement below brings it to the package's amount
        priority: request.priority ?? billingPackage.defaultPriority,
        startsAt,
        expiresAt,
        note: request.note ?? null,
      },
    });
    await applyMovements(
      tx,
      { userId: request.userId, referenceType: 'grant', referenceId: grant.id, idempotencyKey: idempotency.key, actor },
      [{ grantId: grant.id, entryType: 'grant', amount: request.credits ?? billingPackage.creditsAmount }],
    );
    await recordEvent(tx, {
      type: 'credits.granted',
      userId: request.userId,
      payload: {
        grantId: grant.id,
        packageCode: billingPackage.code,
        source: request.source,
        credits: billingPackage.creditsAmount,
        startsAt: startsAt.toISOString(),
        expiresAt: expiresAt?.toISOString() ?? null,
      },
    });
    await afterBalanceChange(tx, request.userId);
    return grantView(await tx.userPackage.findUniqueOrThrow({ where: { id: grant.id } }));
  });
}
