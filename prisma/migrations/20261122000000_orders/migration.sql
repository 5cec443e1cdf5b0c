-- Orders, payment channels, payment events, subscriptions and order refunds (orders feature).

-- CreateEnum
CREATE TYPE "PaymentChannelKind" AS ENUM ('stripe', 'gateway', 'manual');
CREATE TYPE "OrderStatus" AS ENUM ('pending_payment', 'paid', 'provisioning', 'completed', 'cancelled', 'expired', 'failed', 'refunded', 'partially_refunded');
CREATE TYPE "SubscriptionStatus" AS ENUM ('active', 'expired', 'cancelled');
CREATE TYPE "OrderRefundStatus" AS ENUM ('pending', 'succeeded', 'failed');

-- CreateTable
CREATE TABLE "payment_channels" (
    "id" UUID NOT NULL,
    "code" TEXT NOT NULL,
    "kind" "PaymentChannelKind" NOT NULL,
    "name" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "display_order" INTEGER NOT NULL DEFAULT 0,
    "currencies" JSONB NOT NULL,
    "config" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "payment_channels_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "payment_channels_code_key" ON "payment_channels"("code");

CREATE TABLE "orders" (
    "id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "package_id" UUID NOT NULL,
    "package_code" TEXT NOT NULL,
    "package_name" TEXT NOT NULL,
    "package_type" "PackageType" NOT NULL,
    "credits_amount" INTEGER NOT NULL,
    "duration_days" INTEGER,
    "priority" INTEGER NOT NULL,
    "amount_minor" INTEGER NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "channel_id" UUID NOT NULL,
    "channel_code" TEXT NOT NULL,
    "status" "OrderStatus" NOT NULL DEFAULT 'pending_payment',
    "payment_reference" TEXT,
    "payment_url" TEXT,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "paid_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),
    "closed_at" TIMESTAMPTZ(3),
    "failure_reason" TEXT,
    "subscription_id" UUID,
    "grant_id" UUID,
    "refunded_minor" INTEGER NOT NULL DEFAULT 0,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "orders_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "orders_amounts_check" CHECK ("amount_minor" >= 0 AND "refunded_minor" >= 0 AND "refunded_minor" <= "amount_minor")
);
CREATE INDEX "orders_user_id_created_at_idx" ON "orders"("user_id", "created_at");
CREATE INDEX "orders_status_created_at_idx" ON "orders"("status", "created_at");
CREATE INDEX "orders_user_id_package_id_status_idx" ON "orders"("user_id", "package_id", "status");
ALTER TABLE "orders" ADD CONSTRAINT "orders_channel_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "payment_channels"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "order_payments" (
    "order_id" UUID NOT NULL,
    "source" TEXT NOT NULL,
    "external_id" TEXT NOT NULL,
    "amount_minor" INTEGER NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "actor" TEXT NOT NULL,
    "note" TEXT,
    "paid_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "order_payments_pkey" PRIMARY KEY ("order_id")
);
ALTER TABLE "order_payments" ADD CONSTRAINT "order_payments_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "payment_events" (
    "provider" TEXT NOT NULL,
    "event_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "order_id" UUID,
    "payload" JSONB NOT NULL,
    "signalled_at" TIMESTAMPTZ(3),
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "payment_events_pkey" PRIMARY KEY ("provider", "event_id")
);
CREATE INDEX "payment_events_order_id_idx" ON "payment_events"("order_id");

CREATE TABLE "subscriptions" (
    "id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "package_id" UUID NOT NULL,
    "status" "SubscriptionStatus" NOT NULL DEFAULT 'active',
    "current_period_start" TIMESTAMPTZ(3) NOT NULL,
    "current_period_end" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "subscriptions_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "subscriptions_user_id_package_id_key" ON "subscriptions"("user_id", "package_id");

CREATE TABLE "subscription_periods" (
    "id" UUID NOT NULL,
    "subscription_id" UUID NOT NULL,
    "order_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "period_end" TIMESTAMPTZ(3),
    "revoked_seconds" INTEGER NOT NULL DEFAULT 0,
    "grant_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "subscription_periods_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "subscription_periods_order_id_key" ON "subscription_periods"("order_id");
CREATE INDEX "subscription_periods_subscription_id_idx" ON "subscription_periods"("subscription_id");
ALTER TABLE "subscription_periods" ADD CONSTRAINT "subscription_periods_subscription_id_fkey" FOREIGN KEY ("subscription_id") REFERENCES "subscriptions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "order_refunds" (
    "id" UUID NOT NULL,
    "order_id" UUID NOT NULL,
    "amount_minor" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "status" "OrderRefundStatus" NOT NULL DEFAULT 'pending',
    "gateway_refund_id" TEXT,
    "credits_revoked" INTEGER NOT NULL DEFAULT 0,
    "credits_shortfall" INTEGER NOT NULL DEFAULT 0,
    "seconds_revoked" INTEGER NOT NULL DEFAULT 0,
    "failure_reason" TEXT,
    "actor" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),
    CONSTRAINT "order_refunds_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "order_refunds_amount_check" CHECK ("amount_minor" > 0)
);
CREATE INDEX "order_refunds_order_id_idx" ON "order_refunds"("order_id");
ALTER TABLE "order_refunds" ADD CONSTRAINT "order_refunds_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

