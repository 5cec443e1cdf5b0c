/**
 * The public face of modules/pricing: what other modules, api/, activities/, worker/ and prisma/ may import.
 * Everything else in this folder is private to it (dependency-cruiser checks that, see .dependency-cruiser.cjs).
 * Workflow code imports modules/pricing/rules/ and modules/pricing/shapes.ts instead, never this file.
 */
export { listPackagePrices, packagePricesSchema, resolvePrice, setPackagePrices } from './prices';
export { salesByCurrency, salesByCurrencySchema } from './sales';
