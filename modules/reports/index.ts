/**
 * The public face of modules/reports: what other modules, api/, activities/, worker/ and prisma/ may import.
 * Everything else in this folder is private to it (dependency-cruiser checks that, see .dependency-cruiser.cjs).
 * Workflow code imports modules/reports/rules/ and modules/reports/shapes.ts instead, never this file.
 */
export { exportConsumptionsCsv } from './csv-export';
export { openHolds } from './open-holds';
export type { OpenHolds } from './open-holds';
export { checkUserInvariant, listGrantLedger, listReservations } from './operations';
export { registerOperationsGauges } from './operations-gauges';
export { invariantReportSchema, ledgerEntrySchema, ledgerPageSchema, reservationPageSchema } from './operations-views';
export { consumptionStats, getUserCredits, listUserConsumptions, listUserGrants } from './reports';
export { balanceGrantSchema, consumptionPageSchema, consumptionStatsSchema, statsGroupBySchema, userCreditsSchema, userGrantSchema } from './views';
