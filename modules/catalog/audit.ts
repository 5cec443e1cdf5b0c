import type { Prisma } from '../../generated/prisma/client';
import type { Tx } from '../../platform/database';
import { keysetOrder, type Page, type PageRequest } from '../../platform/pagination';
import type { Idempotency } from '../../platform/idempotency/store';
import { auditEventView, type AuditEventView } from './views';

export interface AuditedChange {
  actor: string;
  /** e.g. `action_price.updated` */
  action: string;
  entityType: 'action_price' | 'billing_package' | 'payment_channel' | 'top_up_rule' | 'payment_method';
  entityId: string;
  before: unknown;
  after: unknown;
}

/** Appends who changed which catalog entity, and how, in the same transaction as the change. */
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
