/**
 * Every feature's activities, merged for the worker. A new feature adds its factory here (one line):
 * this is the composition root, the one place that knows every feature.
 */
import type { Database } from '../platform/database';
import type { PaymentsDeps } from '../modules/payments';
import { createOrderActivities } from '../activities/orders';
import { createReservationActivities } from '../activities/reservations';
import { createEventActivities } from '../activities/events';
import { createLifecycleActivities } from '../activities/lifecycle';
import type { LifecycleTimerSettings } from '../modules/lifecycle';
import { createReconciliationActivities } from '../activities/reconciliation';
import { createTopUpActivities } from '../activities/top-ups';
import { createRetentionActivities } from '../activities/retention';

export interface ActivityDeps {
  db: Database;
  refundGraceDays: number;
  payments: PaymentsDeps;
  timerSettings: LifecycleTimerSettings;
  operatorEmail?: string;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createReservationActivities(deps),
    ...createOrderActivities(deps),
    ...createEventActivities(deps),
    ...createLifecycleActivities(deps),
    ...createReconciliationActivities(deps),
    ...createTopUpActivities(deps),
    ...createRetentionActivities(deps),
  };
}
