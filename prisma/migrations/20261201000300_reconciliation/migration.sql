-- Gateway reconciliation reports and their mismatches (reconciliation feature).
CREATE TABLE "reconciliation_reports" (
    "id" UUID NOT NULL,
    "channel_code" TEXT NOT NULL,
    "period_from" TIMESTAMPTZ(3) NOT NULL,
    "period_to" TIMESTAMPTZ(3) NOT NULL,
    "trigger" TEXT NOT NULL,
    "local_count" INTEGER NOT NULL,
    "remote_count" INTEGER NOT NULL,
    "mismatch_count" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "reconciliation_reports_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "reconciliation_reports_created_at_idx" ON "reconciliation_reports"("created_at");

CREATE TABLE "reconciliation_mismatches" (
    "id" UUID NOT NULL,
    "report_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "order_id" UUID,
    "external_id" TEXT,
    "ours" JSONB,
    "theirs" JSONB,
    "redriven_at" TIMESTAMPTZ(3),
    "redriven_by" TEXT,
    CONSTRAINT "reconciliation_mismatches_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "reconciliation_mismatches_report_id_idx" ON "reconciliation_mismatches"("report_id");
ALTER TABLE "reconciliation_mismatches" ADD CONSTRAINT "reconciliation_mismatches_report_id_fkey" FOREIGN KEY ("report_id") REFERENCES "reconciliation_reports"("id") ON DELETE CASCADE ON UPDATE CASCADE;
