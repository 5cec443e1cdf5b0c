/**
 * The public face of modules/lifecycle: what other modules, api/, activities/, worker/ and prisma/ may import.
 * Everything else in this folder is private to it (dependency-cruiser checks that, see .dependency-cruiser.cjs).
 * Workflow code imports modules/lifecycle/rules/ and modules/lifecycle/shapes.ts instead, never this file.
 */
export { lifecycleConfigShape } from './config';
export { latestRollupCoverage, repairReportItem, runConsumptionRollup, runExpirySweep, runReconciliation } from './jobs';
export type { RollupCoverage } from './jobs';
export { INSPECTION_FINDING_KINDS, inspectionFindings, readInspectionFindingsFrom, runInspection } from './inspection';
export type { InspectionOptions } from './inspection';
export { ensureSchedules, listSchedules, scheduleDefinitions } from './schedules';
export { changePackageExpiry, getReport, listPackagesByExpiry, listReports, packageLifecycle, revokePackage, runJobNow, signUp, trackGrantedPackage } from './service';
export type { LifecycleDeps } from './service';
export { activatePackage, expirePackage, lapseSubscription, loadPackageSnapshot, loadSubscriptionSnapshot, remindPackage, remindSubscription } from './subjects';
export { LifecycleTimers, lifecycleTimerSettings } from './timers';
export type { LifecycleTimerSettings } from './timers';
export { lifecycleReportSchema, lifecycleStateSchema, repairResultSchema, scheduleSchema, signupSchema, userPackageWithTimerSchema } from './views';
