-- The Stripe Customer kept per user: created once (the Stripe call's idempotency key is derived from the user),
-- so every method the user saves through Stripe hangs on one Customer and an off-session charge can name it.
CREATE TABLE "stripe_customers" (
    "user_id" TEXT NOT NULL,
    "customer_ref" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "stripe_customers_pkey" PRIMARY KEY ("user_id")
);
CREATE UNIQUE INDEX "stripe_customers_customer_ref_key" ON "stripe_customers"("customer_ref");

-- The saved method a rule charges; null: the user's newest saved method.
ALTER TABLE "top_up_rules" ADD COLUMN "payment_method_id" UUID;
CREATE INDEX "top_up_rules_payment_method_id_idx" ON "top_up_rules"("payment_method_id");

-- A saved card's brand and last four digits as the provider reports them (never more of the card).
ALTER TABLE "saved_payment_methods" ADD COLUMN "brand" TEXT, ADD COLUMN "last4" VARCHAR(4);
