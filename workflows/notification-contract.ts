/** The notification workflow's contract: one run per event that has a notice template. Workflow-safe. */
export const notificationWorkflowId = (eventId: string): string => `notify-${eventId}`;

export interface NotificationInput {
  eventId: string;
}
