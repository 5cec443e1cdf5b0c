/**
 * The public face of modules/credits: what other modules, api/, activities/, worker/ and prisma/ may import.
 * Everything else in this folder is private to it (dependency-cruiser checks that, see .dependency-cruiser.cjs).
 * Workflow code imports modules/credits/rules/ and modules/credits/shapes.ts instead, never this file.
 */
export { assignPackage } from './assign';
export { availableCredits, latestGrantId } from './balance';
export { creditsConfigShape } from './config';
export { deductSenderFor } from './deduct-batch';
export { afterBalanceChange } from './events';
export { applyMovements } from './ledger';
export { activateGrant, changeGrantExpiryIn, expireGrant, findGrantTimes, lapseReleasedCredits, realignGrantToLedger, revokeGrantIn } from './lifecycle';
export type { GrantTimes } from './lifecycle';
export { lockUserCredits } from './locks';
export { listRefunds, refundConsumption } from './refunds';
export { commitReservation, expireOverdueHolds, extendReservation, getReservation, holdCredits, releaseReservation, reservationOwner } from './reservations';
export type { HoldRequest } from './reservations';
export { checkCredits, deductCredits } from './spend';
export type { DeductSender } from './spend';
export { consumptionSchema, consumptionView, grantSchema, grantView, refundSchema, reservationSchema, reservationView } from './views';
export type { GrantView, RefundView, ReservationView } from './views';
