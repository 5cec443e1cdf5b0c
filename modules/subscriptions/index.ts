/**
 * The public face of modules/subscriptions: what other modules, api/, activities/, worker/ and prisma/ may import.
 * Everything else in this folder is private to it (dependency-cruiser checks that, see .dependency-cruiser.cjs).
 * Workflow code imports modules/subscriptions/rules/ and modules/subscriptions/shapes.ts instead, never this file.
 */
export { grantOrderCredits, listSubscriptions, provisionSubscription, revokeOrderShare } from './provision';
