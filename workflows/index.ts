// Entry point bundled for the worker: every workflow type the worker runs.
export { reservationWorkflow } from './reservation';
export { orderWorkflow, orderRefundWorkflow } from './order';
export { gatewayReconciliationWorkflow } from './reconciliation';
