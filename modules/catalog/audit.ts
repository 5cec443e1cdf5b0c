import type { Prisma } from '../../generated/prisma/client';
import type { Tx } from '../../platform/database';
import { keysetOrder, type Page, type PageRequest } from '../../platform/pagination';
import type { Idempotency } from '../../platform/idempotency/store';
import { auditEventView, type AuditEventView } from './views';

/** What admin writes change. The table is this module's; other modules write to it only through recordAudit. */
export type AuditedEntityType = 'action_price' | 'billing_package' | 'payment_channel' | 'coupon' | 'seller' | 'top_up_rule' | 'payment_method';

export interface AuditedChange {
  actor: string;
  /** e.g. `action_price.updated` */
  action: string;
  entityType: AuditedEntityType;
  entityId: string;
  before: unknown;
  after: unknown;
}

/**
 * The one writer of audit rows: appends who changed which entity, and how (snapshots before and after;
 * before is null on create), in the same transaction as the change, under the request's idempotency key.
 */
export async function recordAudit(tx: Tx, change: AuditedChange, idempotency: Idempotency): Promise<void> {
  await tx.auditEvent.create({
    data: {
      actor: change.actor,
      action: change.action,
      entityType: change.entityType,
      entityId: change.entityId,
      changes: { before: change.before ?? null, after: change.after ?? null } as Prisma.InputJsonValue,
      idempotencyKey: idempotency.key,
    },
  });
}

const NEWEST_FIRST = keysetOrder({ field: 'id', direction: 'desc', kind: 'bigint' });

export async function listAuditEvents(
  tx: Pick<Tx, 'auditEvent'>,
  filter: { entityType?: string | undefined; entityId?: string | undefined },
  page: PageRequest,
): Promise<Page<AuditEventView>> {
  const events = await tx.auditEvent.findMany({
    where: {
      AND: [{ ...(filter.entityType ? { entityType: filter.entityType } : {}), ...(filter.entityId ? { entityId: filter.entityId } : {}) }, NEWEST_FIRST.after(page.cursor)],
    },
    orderBy: NEWEST_FIRST.orderBy,
    take: NEWEST_FIRST.take(page),
  });
  return NEWEST_FIRST.page(events, page, auditEventView);
}
