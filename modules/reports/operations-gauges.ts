/**
 * What the alerts watch that only the database knows, read at scrape time in one statement: the relay's
 * backlog, lifecycle timers that are late, and what the latest reconciliation runs found. Every API
 * replica reports the same values (aggregate with max, not sum). docs/operations.md → Metrics.
 */
import type { Gauge } from 'prom-client';
import type { Database, Tx } from '../../platform/database';
import { cachedRead, sampledGauge } from '../../platform/metrics';

export interface OperationsGauges {
  /** Seconds since the oldest event not yet handed to Temporal was written; 0 when none waits. */
  relayLagSeconds: number;
  unrelayedEvents: number;
  /** Live grants and active subscriptions more than a minute past their end: their timer is late. */
  overdueGrants: number;
  overdueSubscriptions: number;
  /** The latest whole-database lifecycle reconciliation (none yet: null). */
  reconciliation: {
    finishedAt: Date;
    grantLedgerMismatches: number;
    paidNotProvisioned: number;
    provisionedWithoutPayment: number;
  } | null;
  /** Mismatches in each payment channel's latest gateway reconciliation, summed. */
  gatewayMismatches: number;
}

interface Row {
  relay_lag_seconds: number;
  unrelayed: number;
  grants_overdue: number;
  subscriptions_overdue: number;
  reconciliation_finished_at: Date | null;
  reconciliation_summary: Record<string, unknown> | null;
  gateway_mismatches: number;
}

export async function readOperationsGauges(db: Database | Tx): Promise<OperationsGauges> {
  // Each part reads an index and touches only the rows it reports, never the whole table (EXPLAIN on a
  // million rows each: docs/performance.md): events (relayed_at, seq) the unrelayed backlog; user_packages
  // (status, expires_at) and subscriptions (status, current_period_end) the overdue ones; lifecycle_reports
  // (kind, started_at) from the newest back; reconciliation_reports (channel_code, created_at) the newest
  // report of each channel.
  const [row] = await db.$queryRaw<Row[]>`
    SELECT
      (SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(occurred_at)), 0) FROM events WHERE relayed_at IS NULL)::float8 AS relay_lag_seconds,
      (SELECT count(*) FROM events WHERE relayed_at IS NULL)::int AS unrelayed,
      (SELECT count(*) FROM user_packages
        WHERE status IN ('pending', 'active', 'depleted') AND expires_at < now() - interval '1 minute')::int AS grants_overdue,
      (SELECT count(*) FROM subscriptions
        WHERE status = 'active' AND current_period_end < now() - interval '1 minute')::int AS subscriptions_overdue,
      latest.finished_at AS reconciliation_finished_at,
      latest.summary AS reconciliation_summary,
      (WITH RECURSIVE newest AS (
        -- Each channel's newest report, one backward probe of (channel_code, created_at) per channel (a skip
        -- scan), rather than sorting every report.
        (SELECT channel_code, mismatch_count FROM reconciliation_reports ORDER BY channel_code DESC, created_at DESC LIMIT 1)
        UNION ALL
        SELECT next.channel_code, next.mismatch_count FROM newest CROSS JOIN LATERAL (
          SELECT channel_code, mismatch_count FROM reconciliation_reports
          WHERE channel_code < newest.channel_code ORDER BY channel_code DESC, created_at DESC LIMIT 1
        ) next
      )
      SELECT COALESCE(sum(mismatch_count), 0) FROM newest)::int AS gateway_mismatches
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (
      SELECT finished_at, summary FROM lifecycle_reports
      WHERE kind = 'reconciliation' AND scope_user_id IS NULL ORDER BY started_at DESC LIMIT 1
    ) latest ON true`;
  const summary = row!.reconciliation_summary;
  const count = (key: string) => (typeof summary?.[key] === 'number' ? (summary[key] as number) : 0);
  return {
    relayLagSeconds: row!.relay_lag_seconds,
    unrelayedEvents: row!.unrelayed,
    overdueGrants: row!.grants_overdue,
    overdueSubscriptions: row!.subscriptions_overdue,
    reconciliation:
      row!.reconciliation_finished_at === null
        ? null
        : {
            finishedAt: row!.reconciliation_finished_at,
            grantLedgerMismatches: count('grantLedgerMismatches'),
            paidNotProvisioned: count('paidNotProvisioned'),
            provisionedWithoutPayment: count('provisionedWithoutPayment'),
          },
    gatewayMismatches: row!.gateway_mismatches,
  };
}

/**
 * Registers the gauges (once per process); `source` names the database to read. The registry collects all
 * gauges at once: they share one read, reused for SCRAPE_READ_TTL_MS whatever the scrape rate. A failed
 * read (database down) leaves the last values; /readyz says why.
 */
export function registerOperationsGauges(source: () => Database): void {
  const read = cachedRead(() => readOperationsGauges(source()));
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], set: (gauge: Gauge<L>, values: OperationsGauges) => void) =>
    sampledGauge(name, help, labelNames, async (g) => {
      const values = await read();
      if (values) set(g, values);
    });

  gauge('billing_event_relay_lag_seconds', 'Age of the oldest event not yet handed to Temporal by the relay (0: none waiting).', [], (g, v) => g.set(v.relayLagSeconds));
  gauge('billing_events_unrelayed', 'Events written but not yet handed to Temporal by the relay.', [], (g, v) => g.set(v.unrelayedEvents));
  gauge(
    'billing_expiry_overdue',
    'Live grants (subject grant) and active subscriptions (subject subscription) over a minute past their end: their lifecycle timer is late.',
    ['subject'] as const,
    (g, v) => {
      g.set({ subject: 'grant' }, v.overdueGrants);
      g.set({ subject: 'subscription' }, v.overdueSubscriptions);
    },
  );
  gauge(
    'billing_ledger_invariant_mismatches',
    'Grants whose balance columns disagree with their ledger, in the latest whole-database reconciliation report (should be 0).',
    [],
    (g, v) => g.set(v.reconciliation?.grantLedgerMismatches ?? 0),
  );
  gauge(
    'billing_reconciliation_mismatches',
    'Mismatches in the latest reconciliation reports, by check: paid_not_provisioned and provisioned_without_payment (lifecycle reconciliation), gateway (each channel\'s latest gateway reconciliation).',
    ['check'] as const,
    (g, v) => {
      g.set({ check: 'paid_not_provisioned' }, v.reconciliation?.paidNotProvisioned ?? 0);
      g.set({ check: 'provisioned_without_payment' }, v.reconciliation?.provisionedWithoutPayment ?? 0);
      g.set({ check: 'gateway' }, v.gatewayMismatches);
    },
  );
  gauge(
    'billing_reconciliation_last_run_timestamp_seconds',
    'When the latest whole-database lifecycle reconciliation finished (Unix seconds); no sample before the first.',
    [],
    (g, v) => {
      if (v.reconciliation) g.set(v.reconciliation.finishedAt.getTime() / 1000);
    },
  );
}
