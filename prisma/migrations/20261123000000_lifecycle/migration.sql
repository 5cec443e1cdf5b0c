-- Package and subscription lifecycle: lifecycle facts, sign-up grants, sweep/reconciliation reports,
-- daily consumption rollup (lifecycle feature).

-- CreateTable
CREATE TABLE "lifecycle_events" (
    "id" BIGSERIAL NOT NULL,
    "subject_type" TEXT NOT NULL,
    "subject_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "dedupe_key" TEXT NOT NULL,
    "details" JSONB,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "lifecycle_events_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "lifecycle_events_dedupe_key_key" ON "lifecycle_events"("dedupe_key");
CREATE INDEX "lifecycle_events_subject_type_subject_id_idx" ON "lifecycle_events"("subject_type", "subject_id");
CREATE INDEX "lifecycle_events_kind_occurred_at_idx" ON "lifecycle_events"("kind", "occurred_at");

CREATE TABLE "signup_grants" (
    "user_id" TEXT NOT NULL,
    "grant_id" UUID NOT NULL,
    "package_code" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "signup_grants_pkey" PRIMARY KEY ("user_id")
);

CREATE TABLE "lifecycle_reports" (
    "id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "scope_user_id" TEXT,
    "summary" JSONB NOT NULL,
    "items" JSONB NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "finished_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "lifecycle_reports_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "lifecycle_reports_kind_started_at_idx" ON "lifecycle_reports"("kind", "started_at");

CREATE TABLE "daily_consumption_rollups" (
    "day" DATE NOT NULL,
    "action_key" TEXT NOT NULL,
    "consumptions" INTEGER NOT NULL,
    "quantity" INTEGER NOT NULL,
    "credits_cost" INTEGER NOT NULL,
    "credits_refunded" INTEGER NOT NULL,
    "users" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "daily_consumption_rollups_pkey" PRIMARY KEY ("day", "action_key")
);

-- Grants the sweep looks at: not yet in a final state, by expiry.
CREATE INDEX "user_packages_status_expires_at_idx" ON "user_packages"("status", "expires_at");
