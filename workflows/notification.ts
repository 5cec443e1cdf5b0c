import { patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { EventActivities } from '../activities/events';
import type { NotificationInput } from './notification-contract';

const storeOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} as const;

/**
 * Mail is retried on its own schedule for up to 3 days: a failing SMTP server only delays mail. Each
 * event's notice is its own workflow, so nothing else (in-app notices, webhooks, other mails) waits.
 */
const mailOptions = {
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '3 days',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '30 minutes' },
} as const;

const remoteStore = proxyActivities<EventActivities>(storeOptions);
const remoteMail = proxyActivities<EventActivities>(mailOptions);

/**
 * Runs started since this patch run both steps as local activities: the worker that runs the workflow
 * task runs the step and records its result as a marker, so a notice is one workflow task instead of
 * three workflow tasks and two activity tasks (every paid order and every expiry sets one off). The
 * guarantees are the steps' own: both are idempotent (one notice per event; the mail is sent only while
 * its status is pending) and are re-run after a crash until their result is recorded, as activities
 * were. Retries keep the same schedule: a retry due later than a minute away waits on a durable timer,
 * so a failing SMTP server is still retried for 3 days. Runs started before the patch replay with
 * remote activities (tests/workflows/notification-histories.test.ts).
 */
const NOTIFICATION_LOCAL_STEPS_PATCH = 'notification-local-steps';
const localStore = proxyLocalActivities<EventActivities>(storeOptions);
const localMail = proxyLocalActivities<EventActivities>(mailOptions);

/** Turns an event into the user's in-app notice, then emails it unless the user opted out. */
export async function notificationWorkflow(input: NotificationInput): Promise<{ emailed: boolean }> {
  const local = patched(NOTIFICATION_LOCAL_STEPS_PATCH);
  const store = local ? localStore : remoteStore;
  const mail = local ? localMail : remoteMail;
  const notice = await store.storeNotice(input.eventId);
  if (!notice) return { emailed: false };
  const emailed = await mail.sendNoticeEmail(notice.notificationId);
  return { emailed };
}
