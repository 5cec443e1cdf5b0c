/**
 * The public face of modules/sellers: what other modules, api/, activities/, worker/ and prisma/ may import.
 * Everything else in this folder is private to it (dependency-cruiser checks that, see .dependency-cruiser.cjs).
 * Workflow code imports modules/sellers/rules/ and modules/sellers/shapes.ts instead, never this file.
 */
export { earningsByPeriod, exportEarningsCsv, orderSplit, recordSale, reverseSaleForRefund } from './earnings';
export { createSeller, getSeller, listSellers, updateSeller } from './sellers';
export { orderSplitSchema, sellerEarningsSchema, sellerSchema } from './views';
