/** JSON shapes of reconciliation reports (zod schemas, types inferred). Views change only by adding fields. */
import { z } from '../../platform/zod';
import { MISMATCH_KINDS } from './rules/reconciliation';
import type { ReconciliationMismatch, ReconciliationReport } from '../../generated/prisma/client';
import { uuidSchema } from '../../platform/schemas';

export const mismatchSchema = z
  .object({
    id: uuidSchema,
    kind: z.enum(MISMATCH_KINDS),
    orderId: uuidSchema.nullable(),
    externalId: z.string().nullable(),
    ours: z.record(z.string(), z.unknown()).nullable().openapi({ description: 'What this system recorded.' }),
    theirs: z.record(z.string(), z.unknown()).nullable().openapi({ description: "The gateway's record." }),
    redrivable: z.boolean().openapi({ description: 'paid_not_provisioned with a known order: POST …/redrive signals its workflow.' }),
    redrivenAt: z.string().nullable(),
    redrivenBy: z.string().nullable(),
  })
  .openapi('ReconciliationMismatch');

export const reportSummarySchema = z
  .object({
    id: uuidSchema,
    channel: z.string(),
    from: z.string(),
    to: z.string(),
    trigger: z.string(),
    localCount: z.number().int(),
    remoteCount: z.number().int(),
    mismatchCount: z.number().int(),
    createdAt: z.string(),
  })
  .openapi('ReconciliationReportSummary');
export const reportSchema = reportSummarySchema.extend({ mismatches: z.array(mismatchSchema) }).openapi('ReconciliationReport');
export type ReportSummaryView = z.infer<typeof reportSummarySchema>;
export type ReportView = z.infer<typeof reportSchema>;
export type MismatchView = z.infer<typeof mismatchSchema>;

export function summaryView(report: ReconciliationReport): ReportSummaryView {
  return {
    id: report.id,
    channel: report.channelCode,
    from: report.periodFrom.toISOString(),
    to: report.periodTo.toISOString(),
    trigger: report.trigger,
    localCount: report.localCount,
    remoteCount: report.remoteCount,
    mismatchCount: report.mismatchCount,
    createdAt: report.createdAt.toISOString(),
  };
}

export function mismatchView(mismatch: ReconciliationMismatch): MismatchView {
  return {
    id: mismatch.id,
    kind: mismatch.kind as MismatchView['kind'],
    orderId: mismatch.orderId,
    externalId: mismatch.externalId,
    ours: (mismatch.ours as Record<string, unknown> | null) ?? null,
    theirs: (mismatch.theirs as Record<string, unknown> | null) ?? null,
    redrivable: mismatch.kind === 'paid_not_provisioned' && mismatch.orderId !== null,
    redrivenAt: mismatch.redrivenAt?.toISOString() ?? null,
    redrivenBy: mismatch.redrivenBy,
  };
}
