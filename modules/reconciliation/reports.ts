/**
 * One reconciliation run for one channel and period: gather our side (the channel's orders created
 * in the period, plus any order a gateway record names), ask the gateway, compare
 * (modules/reconciliation/rules/reconciliation.ts) and keep the report with its mismatches. Idempotent by report id: a
 * retried activity returns the report already stored.
 */
import { randomUUID } from 'node:crypto';
import { BillingError } from '../../platform/errors';
import { findMismatches, type LocalPayment } from './rules/reconciliation';
import { Prisma } from '../../generated/prisma/client';
import type { Database } from '../../platform/database';
import { NEWEST_FIRST, type Page, type PageRequest } from '../../platform/pagination';
import { RECONCILABLE_KINDS, listProviderPayments, type PaymentsDeps } from '../payments';
import { mismatchView, summaryView, type ReportSummaryView, type ReportView } from './views';
import { isUuid } from '../../platform/schemas';

export interface ReconcileRequest {
  reportId: string;
  channelCode: string;
  from: string;
  to: string;
  trigger: string;
}


async function localPayments(db: Database, channelId: string, from: Date, to: Date, alsoOrderIds: string[]): Promise<LocalPayment[]> {
  const orders = await db.order.findMany({
    where: { channelId, OR: [{ createdAt: { gte: from, lt: to } }, { id: { in: alsoOrderIds.filter((id) => isUuid(id)) } }] },
    include: { payment: true },
  });
  return orders.map((order) => ({
    orderId: order.id,
    orderStatus: order.status,
    payment: order.payment
      ? { externalId: order.payment.externalId, amountMinor: order.payment.amountMinor, currency: order.payment.currency.trim(), source: order.payment.source }
      : null,
    refundedMinor: order.refundedMinor,
  }));
}

export async function reconcileChannel(db: Database, payments: PaymentsDeps, request: ReconcileRequest): Promise<ReportSummaryView> {
  const existing = await db.reconciliationReport.findUnique({ where: { id: request.reportId } });
  if (existing) return summaryView(existing);
  const channel = await db.paymentChannel.findUnique({ where: { code: request.channelCode } });
  if (!channel) throw new BillingError('NOT_FOUND', `Payment channel "${request.channelCode}" not found.`, { channel: request.channelCode });
  const from = new Date(request.from);
  const to = new Date(request.to);
  const theirs = await listProviderPayments(payments, channel, from, to);
  const ours = await localPayments(db, channel.id, from, to, theirs.flatMap((record) => (record.orderId ? [record.orderId] : [])));
  const mismatches = findMismatches(ours, theirs);
  const report = await db.$transaction(async (tx) => {
    const created = await tx.reconciliationReport.createManyAndReturn({
      data: [
        {
          id: request.reportId,
          channelCode: channel.code,
          periodFrom: from,
          periodTo: to,
          trigger: request.trigger,
          localCount: ours.length,
          remoteCount: theirs.length,
          mismatchCount: mismatches.length,
        },
      ],
      skipDuplicates: true,
    });
    if (created.length === 0) return tx.reconciliationReport.findUniqueOrThrow({ where: { id: request.reportId } });
    await tx.reconciliationMismatch.createMany({
      data: mismatches.map((mismatch) => ({
        id: randomUUID(),
        reportId: request.reportId,
        kind: mismatch.kind,
        orderId: mismatch.orderId && isUuid(mismatch.orderId) ? mismatch.orderId : null,
        externalId: mismatch.externalId,
        ours: (mismatch.ours ?? Prisma.DbNull) as Prisma.InputJsonValue,
        theirs: (mismatch.theirs ?? Prisma.DbNull) as Prisma.InputJsonValue,
      })),
    });
    return created[0]!;
  });
  return summaryView(report);
}

/** The channel, if a gateway can be asked about it; else NOT_FOUND / CHANNEL_UNAVAILABLE. */
export async function requireReconcilableChannel(db: Database, code: string): Promise<void> {
  const channel = await db.paymentChannel.findUnique({ where: { code } });
  if (!channel) throw new BillingError('NOT_FOUND', `Payment channel "${code}" not found.`, { channel: code });
  if (!RECONCILABLE_KINDS.includes(channel.kind)) throw new BillingError('CHANNEL_UNAVAILABLE', `A ${channel.kind} channel has no gateway to reconcile with.`, { channel: code });
}

/** The enabled channels a gateway can be asked about (those whose provider lists its payments). */
export async function reconcilableChannels(db: Database): Promise<string[]> {
  const channels = await db.paymentChannel.findMany({ where: { enabled: true, kind: { in: RECONCILABLE_KINDS } }, orderBy: { code: 'asc' } });
  return channels.map((channel) => channel.code);
}

/** Newest first. */
export async function listReports(db: Database, filter: { channel?: string | undefined }, page: PageRequest): Promise<Page<ReportSummaryView>> {
  const reports = await db.reconciliationReport.findMany({
    where: { AND: [filter.channel ? { channelCode: filter.channel } : {}, NEWEST_FIRST.after(page.cursor)] },
    orderBy: NEWEST_FIRST.orderBy,
    take: NEWEST_FIRST.take(page),
  });
  return NEWEST_FIRST.page(reports, page, summaryView);
}

export async function getReport(db: Database, reportId: string): Promise<ReportView> {
  const report = await db.reconciliationReport.findUnique({ where: { id: reportId } });
  if (!report) throw new BillingError('NOT_FOUND', `Reconciliation report ${reportId} not found.`, { reportId });
  const mismatches = await db.reconciliationMismatch.findMany({ where: { reportId }, orderBy: [{ kind: 'asc' }, { id: 'asc' }] });
  return { ...summaryView(report), mismatches: mismatches.map(mismatchView) };
}
