// Entry point bundled for the worker: every workflow type the worker runs.
export { reservationWorkflow } from './reservation';
export { orderWorkflow, orderRefundWorkflow } from './order';
export { deliveryWorkflow } from './delivery';
export { notificationWorkflow } from './notification';
export { packageLifecycleWorkflow, subscriptionLifecycleWorkflow, expirySweepWorkflow, reconciliationWorkflow, consumptionRollupWorkflow, dailyInspectionWorkflow } from './package-lifecycle';
export { gatewayReconciliationWorkflow } from './reconciliation';
export { topUpRefillWorkflow } from './top-up-refill';
export { topUpIntervalWorkflow } from './top-up-interval';
export { retentionWorkflow } from './retention';
