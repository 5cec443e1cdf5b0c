/**
 * The public face of modules/events: what other modules, api/, activities/, worker/ and prisma/ may import.
 * Everything else in this folder is private to it (dependency-cruiser checks that, see .dependency-cruiser.cjs).
 * Workflow code imports modules/events/rules/ and modules/events/shapes.ts instead, never this file.
 */
export { getDelivery, listDeliveries, listEvents, replayDelivery, replayFailed, sendTestEvent } from './admin';
export { balanceLowThreshold, noteAvailableCredits } from './balance-low';
export { eventsConfig, loadEventsConfig } from './config';
export type { EventsConfig } from './config';
export { attemptDelivery } from './delivery';
export { createEndpoint, deleteEndpoint, getEndpoint, listEndpoints, rotateSecret, updateEndpoint } from './endpoints';
export { createMailer } from './mailer';
export type { SendMail } from './mailer';
export { countDeliveryAttempt } from './metrics';
export { getSettings, listNotifications, markAllRead, markRead, putSettings, sendNoticeEmail, storeNotice } from './notifications';
export { startEventRelayProcess } from './relay';
export { deliveryPageSchema, deliverySchema, eventPageSchema, eventSchema, notificationPageSchema, notificationSchema, notificationSettingsSchema, replayResultSchema, webhookEndpointSchema, webhookEndpointWithSecretSchema } from './views';
