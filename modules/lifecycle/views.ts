/** Answers of the lifecycle endpoints (zod schemas, types inferred). Additive changes only. */
import { grantSchema } from '../credits';
import { z } from '../../platform/zod';
import { uuidSchema } from '../../platform/schemas';

export const userPackageWithTimerSchema = grantSchema
  .extend({ timerWorkflowId: z.string().nullable().openapi({ description: 'Temporal workflow id of its lifecycle timer; null: permanent or final.' }) })
  .openapi('UserPackageWithTimer');

export const signupSchema = z
  .object({ userId: z.string(), created: z.boolean(), grant: grantSchema })
  .openapi('Signup');

const reportItemSchema = z.object({
  id: z.string(),
  kind: z.string(),
  subjectId: z.string(),
  userId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export const lifecycleReportSchema = z
  .object({
    id: uuidSchema,
    kind: z.enum(['sweep', 'reconciliation', 'rollup', 'inspection']),
    trigger: z.enum(['schedule', 'admin']),
    scopeUserId: z.string().nullable(),
    summary: z.record(z.string(), z.unknown()),
    items: z.array(reportItemSchema),
    startedAt: z.string(),
    finishedAt: z.string(),
  })
  .openapi('LifecycleReport');
export const repairResultSchema = z.object({ itemId: z.string(), action: z.string(), result: z.unknown() }).openapi('RepairResult');

export const scheduleSchema = z
  .object({
    id: z.string(),
    workflowType: z.string(),
    paused: z.boolean(),
    note: z.string().nullable(),
    spec: z.string(),
    overlapPolicy: z.string(),
    catchupWindowSeconds: z.number().nullable(),
    lastRuns: z.array(z.object({ scheduledAt: z.string(), takenAt: z.string(), workflowId: z.string() })),
    nextRuns: z.array(z.string()),
  })
  .openapi('Schedule');

export const lifecycleStateSchema = z
  .object({
    userPackageId: uuidSchema,
    timerWorkflowId: z.string(),
    timer: z.unknown().nullable().openapi({ description: "The timer's state query (phase, expiresAt, next step, reminders sent); null when it is not running." }),
    events: z.array(z.object({ kind: z.string(), details: z.unknown().nullable(), occurredAt: z.string() })),
  })
  .openapi('UserPackageLifecycle');

export type LifecycleReportView = z.infer<typeof lifecycleReportSchema>;
export type ScheduleView = z.infer<typeof scheduleSchema>;

export function reportView(row: { id: string; kind: string; trigger: string; scopeUserId: string | null; summary: unknown; items: unknown; startedAt: Date; finishedAt: Date }): LifecycleReportView {
  return {
    id: row.id,
    kind: row.kind as LifecycleReportView['kind'],
    trigger: row.trigger as LifecycleReportView['trigger'],
    scopeUserId: row.scopeUserId,
    summary: row.summary as Record<string, unknown>,
    items: row.items as LifecycleReportView['items'],
    startedAt: row.startedAt.toISOString(),
    finishedAt: row.finishedAt.toISOString(),
  };
}
