/**
 * Activities of the lifecycle timers and scheduled jobs: thin, idempotent steps over lifecycle/ and
 * the credit engine. `trackOrderLifecycle` is the order workflow's hook: it starts the new grant's
 * timer and starts the subscription's (a first period) or moves it (a renewal), using the worker's own
 * Temporal client.
 */
import { Context } from '@temporalio/activity';
import type { Database } from '../platform/database';
import { findGrantTimes } from '../modules/credits';
import * as subjects from '../modules/lifecycle';
import { runConsumptionRollup, runExpirySweep, runInspection, runReconciliation, LifecycleTimers, type InspectionOptions, type LifecycleTimerSettings } from '../modules/lifecycle';
import { createMailer, loadEventsConfig, type SendMail } from '../modules/events';
import type { ScheduledJobInput } from '../workflows/package-lifecycle-contract';

export interface LifecycleActivityDeps {
  db: Database;
  /** The timers' settings (`lifecycleTimerSettings` of the worker's configuration). */
  timerSettings: LifecycleTimerSettings;
  /** Where the daily inspection mails its findings (OPERATOR_EMAIL); unset: no mail. */
  operatorEmail?: string;
  /** The mail transport (tests); default SMTP from the events configuration. */
  sendMail?: SendMail;
}

/** Mails the operator through the events module's transport; the message id is the report's, so a retried activity's mail is recognisable. */
function operatorNotifier(operatorEmail: string, sendMail: SendMail | undefined): InspectionOptions['notifyOperator'] {
  let mail = sendMail;
  return async (subject, text, reportId) => {
    mail ??= createMailer(loadEventsConfig());
    await mail({ to: operatorEmail, subject, text, messageId: `<inspection-${reportId}@durable-billing>` });
  };
}

export function createLifecycleActivities({ db, timerSettings, operatorEmail, sendMail }: LifecycleActivityDeps) {
  const notifyOperator = operatorEmail ? operatorNotifier(operatorEmail, sendMail) : undefined;
  const timers = () => {
    const context = Context.current();
    return new LifecycleTimers({ temporal: context.client, taskQueue: context.info.taskQueue, ...timerSettings });
  };
  return {
    loadPackageSnapshot: (grantId: string) => subjects.loadPackageSnapshot(db, grantId),
    activatePackage: (grantId: string, asOf?: number) => subjects.activatePackage(db, grantId, asOf),
    remindPackage: (grantId: string, expiresAt: string, leadDays: number) => subjects.remindPackage(db, grantId, expiresAt, leadDays),
    expirePackage: (grantId: string, asOf?: number) => subjects.expirePackage(db, grantId, 'system:lifecycle', false, asOf),
    loadSubscriptionSnapshot: (subscriptionId: string) => subjects.loadSubscriptionSnapshot(db, subscriptionId),
    remindSubscription: (subscriptionId: string, periodEnd: string, leadDays: number) => subjects.remindSubscription(db, subscriptionId, periodEnd, leadDays),
    lapseSubscription: (subscriptionId: string, asOf?: number) => subjects.lapseSubscription(db, subscriptionId, new Date(asOf ?? Date.now())),

    /**
     * After an order granted credits: the grant's timer, and the subscription's timer started (its
     * first period: nothing to signal) or moved (a renewal or restart), both at once. The order's
     * period row names both and says which kind of period it was.
     */
    trackOrderLifecycle: async (orderId: string): Promise<void> => {
      const period = await db.subscriptionPeriod.findUnique({ where: { orderId }, select: { kind: true, grantId: true, subscription: true } });
      if (!period) return;
      const lifecycleTimers = timers();
      const grantId = period.grantId;
      await Promise.all([
        grantId &&
          findGrantTimes(db, grantId).then((grant) => grant && lifecycleTimers.trackPackage(grant)),
        period.kind === 'start' ? lifecycleTimers.subscriptionStarted(period.subscription) : lifecycleTimers.subscriptionPeriodChanged(period.subscription),
      ]);
    },

    runExpirySweep: (input: ScheduledJobInput) => runExpirySweep(db, input),
    runReconciliation: (input: ScheduledJobInput) => runReconciliation(db, input),
    runConsumptionRollup: (input: ScheduledJobInput) => runConsumptionRollup(db, input),
    runInspection: (input: ScheduledJobInput) => runInspection(db, input, notifyOperator ? { notifyOperator } : {}),
  };
}

export type LifecycleActivities = ReturnType<typeof createLifecycleActivities>;
