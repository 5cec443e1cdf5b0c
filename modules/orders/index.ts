/**
 * The public face of modules/orders: what other modules, api/, activities/, worker/ and prisma/ may import.
 * Everything else in this folder is private to it (dependency-cruiser checks that, see .dependency-cruiser.cjs).
 * Workflow code imports modules/orders/rules/ and modules/orders/shapes.ts instead, never this file.
 */
export { takeInPayment } from './intake';
export { recheckPlacementRules } from './placement-rules';
export { closeRefusedPayment, failRefund, settleRefund } from './refunds';
export { cancelOrder, confirmManualPayment, findOrder, getOrder, listOrderRefunds, listOrders, openRefund, placeOrder, previewCoupon, recordedPayment, recordPayment, transitionOrder } from './store';
export type { PlaceOrderRequest } from './store';
export { orderProgressSchema, orderRefundSchema, orderSchema, orderStatusSchema, orderView, orderWithProgressSchema, subscriptionSchema, subscriptionView } from './views';
export type { OrderView, SubscriptionView } from './views';
export { OrderWorkflowClient } from './workflow-client';
