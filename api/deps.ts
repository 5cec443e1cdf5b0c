import type { Client } from '@temporalio/client';
import type { Config } from '../modules/config';
import type { Database } from '../platform/database';
import type { DependencyHealth } from '../platform/dependency-health';
import type { Authenticator } from './auth';
import type { PaymentsDeps } from '../modules/payments';
import type { OrderWorkflowClient } from '../modules/orders';
import type { DeductSender } from '../modules/credits';

/** What request handlers may use. Built once at start (api/main.ts, tests). */
export interface ApiDeps {
  db: Database;
  temporal: Client;
  authenticator: Authenticator;
  payments: PaymentsDeps;
  orders: OrderWorkflowClient;
  /** What the API knows about PostgreSQL's and Temporal's health (fail fast, 503, one log line per outage). */
  health: DependencyHealth;
  /** Group commit for deducts (modules/credits/deduct-batch.ts); absent: each deduct alone. */
  deducts?: DeductSender | undefined;
  config: Pick<
    Config,
    | 'TEMPORAL_TASK_QUEUE'
    | 'RESERVATION_DEFAULT_HOLD_SECONDS'
    | 'RESERVATION_MAX_HOLD_SECONDS'
    | 'REFUND_WINDOW_DAYS'
    | 'REFUND_GRACE_DAYS'
    | 'RESERVATION_CALL_TIMEOUT_MS'
    | 'COMMIT_GRACE_MS'
    | 'DEFAULT_PACKAGE_CODE' | 'SCHEDULE_ID_PREFIX'
    | 'LIFECYCLE_REMINDER_LEAD_DAYS'
  >;
}
