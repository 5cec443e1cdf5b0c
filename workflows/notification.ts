import { proxyActivities } from '@temporalio/workflow';
import type { EventActivities } from '../activities/events';
import type { NotificationInput } from './notification-contract';

const store = proxyActivities<EventActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * Mail is retried on its own schedule for up to 3 days: a failing SMTP server only delays mail. Each
 * event's notice is its own workflow, so nothing else (in-app notices, webhooks, other mails) waits.
 */
const mail = proxyActivities<EventActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '3 days',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '30 minutes' },
});

/** Turns an event into the user's in-app notice, then emails it unless the user opted out. */
export async function notificationWorkflow(input: NotificationInput): Promise<{ emailed: boolean }> {
  const notice = await store.storeNotice(input.eventId);
  if (!notice) return { emailed: false };
  const emailed = await mail.sendNoticeEmail(notice.notificationId);
  return { emailed };
}
