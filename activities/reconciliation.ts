/** Activities of the gateway reconciliation workflow: thin and idempotent (by report id). */
import type { Database } from '../platform/database';
import type { PaymentsDeps } from '../modules/payments';
import { reconcilableChannels, reconcileChannel, type ReconcileRequest } from '../modules/reconciliation';

export function createReconciliationActivities({ db, payments }: { db: Database; payments: PaymentsDeps }) {
  return {
    listReconcilableChannels: () => reconcilableChannels(db),
    reconcileChannel: (request: ReconcileRequest) => reconcileChannel(db, payments, request),
  };
}

export type ReconciliationActivities = ReturnType<typeof createReconciliationActivities>;
