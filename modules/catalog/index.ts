/**
 * The public face of modules/catalog: what other modules, api/, activities/, worker/ and prisma/ may import.
 * Everything else in this folder is private to it (dependency-cruiser checks that, see .dependency-cruiser.cjs).
 * Workflow code imports modules/catalog/rules/ and modules/catalog/shapes.ts instead, never this file.
 */
export { listAuditEvents, recordAudit } from './audit';
export type { AuditedChange, AuditedEntityType } from './audit';
export { createActionPrice, createPackage, deletePackage, getPackage, listActionPrices, listActivePrices, listPackages, listStorefrontPackages, packageOnSale, updateActionPrice, updatePackage } from './catalog';
export { actionPriceSchema, auditEventSchema, billingPackageSchema, publicActionPriceSchema, storefrontPackageSchema } from './views';
