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

-- One refill a rule started and the monthly slot it claimed (or why it got none).
CREATE TYPE "TopUpRefillStatus" AS ENUM ('claimed', 'capped', 'released');

CREATE TABLE "top_up_refills" (
    "id" TEXT NOT NULL,
    "rule_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "month" CHAR(7) NOT NULL,
    "amount_minor" INTEGER NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "status" "TopUpRefillStatus" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "top_up_refills_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "top_up_refills_user_id_created_at_idx" ON "top_up_refills"("user_id", "created_at");

-- What a rule used of its monthly caps; the claim updates it in place (concurrent claims take turns on the row).
CREATE TABLE "top_up_months" (
    "rule_id" UUID NOT NULL,
    "month" CHAR(7) NOT NULL,
    "top_ups" INTEGER NOT NULL,
    "amount_minor" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "top_up_months_pkey" PRIMARY KEY ("rule_id", "month"),
    CONSTRAINT "top_up_months_counts_check" CHECK ("top_ups" >= 0 AND "amount_minor" >= 0)
);

-- Saved payment methods: the provider's reference only (a gateway token, a Stripe PaymentMethod id), never card data.
CREATE TABLE "saved_payment_methods" (
    "id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "channel_code" TEXT NOT NULL,
    "external_ref" TEXT NOT NULL,
    "label" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "removed_at" TIMESTAMPTZ(3),
    CONSTRAINT "saved_payment_methods_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "saved_payment_methods_channel_code_external_ref_key" ON "saved_payment_methods"("channel_code", "external_ref");
CREATE INDEX "saved_payment_methods_user_id_idx" ON "saved_payment_methods"("user_id");
