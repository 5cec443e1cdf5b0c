-- The operations gauges (modules/reports/operations-gauges.ts) are read at scrape time: each part must read
-- only the rows it reports. Without these, overdue subscriptions were a sequential scan of the table and the
-- gateway mismatches a sort of every reconciliation report (272 ms and 593 ms at a million subscriptions and
-- 100,000 reports).
CREATE INDEX "subscriptions_status_current_period_end_idx" ON "subscriptions"("status", "current_period_end");
CREATE INDEX "reconciliation_reports_channel_code_created_at_idx" ON "reconciliation_reports"("channel_code", "created_at");
