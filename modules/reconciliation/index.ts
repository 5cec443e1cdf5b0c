/**
 * The public face of modules/reconciliation: what other modules, api/, activities/, worker/ and prisma/ may import.
 * Everything else in this folder is private to it (dependency-cruiser checks that, see .dependency-cruiser.cjs).
 * Workflow code imports modules/reconciliation/rules/ and modules/reconciliation/shapes.ts instead, never this file.
 */
export { redriveMismatch } from './redrive';
export { getReport, listReports, reconcilableChannels, reconcileChannel, requireReconcilableChannel } from './reports';
export type { ReconcileRequest } from './reports';
export { ensureReconciliationSchedule } from './schedule';
export { mismatchSchema, reportSchema, reportSummarySchema } from './views';
export { runReconciliation } from './workflow-client';
