-- Top-up rules (modules/topups): when a user's available credits fall below a threshold, buy a package,
-- within monthly caps. One rule per user.
CREATE TYPE "TopUpRuleStatus" AS ENUM ('active', 'paused');

CREATE TABLE "top_up_rules" (
    "id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "threshold_credits" INTEGER NOT NULL,
    "package_id" UUID NOT NULL,
    "package_code" TEXT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "max_top_ups_per_month" INTEGER,
    "max_amount_minor_per_month" INTEGER,
    "status" "TopUpRuleStatus" NOT NULL DEFAULT 'active',
    "paused_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "top_up_rules_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "top_up_rules_threshold_check" CHECK ("threshold_credits" >= 1),
    -- A rule without any cap could buy without end: at least one of them.
    CONSTRAINT "top_up_rules_cap_check" CHECK (
        ("max_top_ups_per_month" IS NOT NULL AND "max_top_ups_per_month" >= 1)
        OR ("max_amount_minor_per_month" IS NOT NULL AND "max_amount_minor_per_month" >= 1)
    )
);

CREATE UNIQUE INDEX "top_up_rules_user_id_key" ON "top_up_rules"("user_id");
