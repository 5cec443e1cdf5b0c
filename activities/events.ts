/**
 * Activities of the events feature: one webhook attempt, storing an in-app notice, sending its email.
 * Each is idempotent (attempt rows by (delivery, run, attempt); notices by event id; mail by status).
 */
import { Context } from '@temporalio/activity';
import type { Database } from '../platform/database';
import { loadEventsConfig, type EventsConfig, attemptDelivery, createMailer, type SendMail, countDeliveryAttempt, sendNoticeEmail, storeNotice } from '../modules/events';
import type { AttemptRequest } from '../workflows/delivery-contract';

export interface EventActivityDeps {
  db: Database;
  /** Defaults to the environment (modules/events/config.ts); tests pass their own. */
  eventsConfig?: EventsConfig;
  sendMail?: SendMail;
}

export function createEventActivities({ db, eventsConfig, sendMail }: EventActivityDeps) {
  const config = eventsConfig ?? loadEventsConfig();
  const mail = sendMail ?? createMailer(config);
  return {
    attemptDelivery: (request: AttemptRequest) =>
      countDeliveryAttempt(() => attemptDelivery(db, config, { ...request, runId: Context.current().info.workflowExecution?.runId ?? 'unknown' })),
    storeNotice: (eventId: string) => storeNotice(db, eventId),
    sendNoticeEmail: (notificationId: string) => sendNoticeEmail(db, mail, notificationId),
  };
}

export type EventActivities = ReturnType<typeof createEventActivities>;
