/** Activities of the gateway reconciliation workflow: thin and idempotent (by report id). */
import type { Database } from '../infra/database';
import type { PaymentsDeps } from '../payments/deps';
import { reconcilableChannels, reconcileChannel, type ReconcileRequest } from '../reconciliation/reports';

export function createReconciliationActivities({ db, payments }: { db: Database; payments: PaymentsDeps }) {
  return {
    listReconcilableChannels: () => reconcilableChannels(db),
    reconcileChannel: (request: ReconcileRequest) => reconcileChannel(db, payments, request),
  };
}

export type ReconciliationActivities = ReturnType<typeof createReconciliationActivities>;
