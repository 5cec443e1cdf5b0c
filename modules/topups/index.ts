/**
 * The public face of modules/topups: what other modules, api/, activities/, worker/ and prisma/ may import.
 * Everything else in this folder is private to it (dependency-cruiser checks that, see .dependency-cruiser.cjs).
 */
export { MAX_OFFERS, OFFER_CACHE_MS, OfferBook, REFILL_RETRY_AFTER_SECONDS, offerBookFor, pickOffers, purchaseCallSchema, purchaseOfferSchema, topUpStateSchema } from './offers';
export type { PurchaseOffer, ShortfallDetails, TopUpState } from './offers';
export { createTopUpRule, deleteTopUpRule, getTopUpRule, listTopUpRules, setTopUpRulePaused, topUpRuleSchema } from './top-up-rules';
export type { TopUpRuleInput, TopUpRuleView } from './top-up-rules';
export { claimRefill, completeRefill, failRefill, getRefill, getRefillById, listRefills, monthlyUse, noteActionRequired, noteRefillOrder, releaseRefill, topUpRefillSchema } from './refills';
export type { TopUpRefillView } from './refills';
// The gateway's saved-token calls live with its provider (modules/payments); named here too for existing callers.
export { chargeSavedToken, forgetSavedToken } from '../payments';
export type { GatewayAccount, OffSessionAnswer, OffSessionCharge } from '../payments';
export { listPaymentMethods, removePaymentMethod, saveGatewayToken, saveStripeSetup, savedPaymentMethodSchema, startStripeSetup, stripeCustomerOf, stripeSetupSchema } from './payment-methods';
export type { SavedPaymentMethodView, StripeSetupView } from './payment-methods';
export { chargeRefillOrder, mayCrossThreshold, refillDue, refillOrderRequest, startRefill, startRefillAfter } from './refill-start';
export { confirmTopUpAction, manualRefillId, startManualTopUp } from './manual-top-ups';
export type { ManualTopUpInput } from './manual-top-ups';
export type { RefillStartDeps } from './refill-start';
export { INTERVAL_CATCHUP_WINDOW, startIntervalRefill, syncRuleSchedule, topUpRuleScheduleId } from './interval-schedules';
