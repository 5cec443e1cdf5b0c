-- CreateEnum
CREATE TYPE "ActionPriceStatus" AS ENUM ('active', 'disabled');
CREATE TYPE "PackageType" AS ENUM ('duration', 'credits', 'hybrid', 'permanent');
CREATE TYPE "PackageStatus" AS ENUM ('active', 'disabled');
CREATE TYPE "GrantSource" AS ENUM ('purchase', 'gift', 'promotion', 'system');
CREATE TYPE "GrantStatus" AS ENUM ('pending', 'active', 'expired', 'depleted', 'revoked');
CREATE TYPE "ReservationStatus" AS ENUM ('held', 'committed', 'released', 'expired');
CREATE TYPE "LedgerEntryType" AS ENUM ('grant', 'reserve', 'release', 'commit', 'deduct', 'refund', 'expire', 'adjust');

-- CreateTable
CREATE TABLE "action_prices" (
    "id" UUID NOT NULL,
    "action_key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "credits_per_unit" INTEGER NOT NULL,
    "status" "ActionPriceStatus" NOT NULL DEFAULT 'active',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "action_prices_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "action_prices_credits_check" CHECK ("credits_per_unit" >= 0)
);

CREATE TABLE "billing_packages" (
    "id" UUID NOT NULL,
    "code" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "type" "PackageType" NOT NULL,
    "credits_amount" INTEGER NOT NULL,
    "duration_days" INTEGER,
    "price_minor" INTEGER NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "visible" BOOLEAN NOT NULL DEFAULT true,
    "default_priority" INTEGER NOT NULL DEFAULT 100,
    "status" "PackageStatus" NOT NULL DEFAULT 'active',
    "deleted_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "billing_packages_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "billing_packages_amounts_check" CHECK ("credits_amount" >= 0 AND "price_minor" >= 0 AND ("duration_days" IS NULL OR "duration_days" > 0))
);

CREATE TABLE "user_packages" (
    "id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "package_id" UUID,
    "source" "GrantSource" NOT NULL,
    "status" "GrantStatus" NOT NULL DEFAULT 'active',
    "total_credits" INTEGER NOT NULL,
    "used_credits" INTEGER NOT NULL DEFAULT 0,
    "reserved_credits" INTEGER NOT NULL DEFAULT 0,
    "priority" INTEGER NOT NULL DEFAULT 100,
    "starts_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3),
    "note" TEXT,
    "replaces_grant_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "user_packages_pkey" PRIMARY KEY ("id"),
    -- The no-overspend invariant, enforced by the database as the last line of defence.
    CONSTRAINT "user_packages_balance_check" CHECK (
        "used_credits" >= 0 AND "reserved_credits" >= 0
        AND "total_credits" - "used_credits" - "reserved_credits" >= 0)
);

CREATE TABLE "reservations" (
    "id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "action_key" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "unit_price" INTEGER NOT NULL,
    "credits_held" INTEGER NOT NULL,
    "status" "ReservationStatus" NOT NULL DEFAULT 'held',
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "workflow_id" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "consumption_id" UUID,
    "settled_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "reservations_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "reservation_allocations" (
    "reservation_id" UUID NOT NULL,
    "user_package_id" UUID NOT NULL,
    "credits" INTEGER NOT NULL,
    CONSTRAINT "reservation_allocations_pkey" PRIMARY KEY ("reservation_id","user_package_id")
);

CREATE TABLE "consumption_records" (
    "id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "action_key" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "unit_price" INTEGER NOT NULL,
    "credits_cost" INTEGER NOT NULL,
    "credits_refunded" INTEGER NOT NULL DEFAULT 0,
    "metadata" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "consumption_records_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "consumption_records_refund_check" CHECK ("credits_refunded" >= 0 AND "credits_refunded" <= "credits_cost")
);

CREATE TABLE "consumption_allocations" (
    "consumption_id" UUID NOT NULL,
    "user_package_id" UUID NOT NULL,
    "credits" INTEGER NOT NULL,
    "credits_refunded" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "consumption_allocations_pkey" PRIMARY KEY ("consumption_id","user_package_id"),
    CONSTRAINT "consumption_allocations_refund_check" CHECK ("credits_refunded" >= 0 AND "credits_refunded" <= "credits")
);

CREATE TABLE "consumption_refunds" (
    "id" UUID NOT NULL,
    "consumption_id" UUID NOT NULL,
    "credits" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "idempotency_key" TEXT,
    "actor" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "consumption_refunds_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "consumption_refunds_credits_check" CHECK ("credits" > 0)
);

CREATE TABLE "credit_ledger_entries" (
    "id" BIGSERIAL NOT NULL,
    "user_id" TEXT NOT NULL,
    "user_package_id" UUID NOT NULL,
    "entry_type" "LedgerEntryType" NOT NULL,
    "amount" INTEGER NOT NULL,
    "reserved_delta" INTEGER NOT NULL DEFAULT 0,
    "used_delta" INTEGER NOT NULL DEFAULT 0,
    "reference_type" TEXT NOT NULL,
    "reference_id" TEXT NOT NULL,
    "idempotency_key" TEXT,
    "actor" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "credit_ledger_entries_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "audit_events" (
    "id" BIGSERIAL NOT NULL,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "entity_type" TEXT NOT NULL,
    "entity_id" TEXT NOT NULL,
    "changes" JSONB NOT NULL,
    "idempotency_key" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "idempotency_records" (
    "scope" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "status_code" INTEGER NOT NULL,
    "response_body" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "idempotency_records_pkey" PRIMARY KEY ("scope","key")
);

-- CreateIndex
CREATE UNIQUE INDEX "action_prices_action_key_key" ON "action_prices"("action_key");
CREATE UNIQUE INDEX "billing_packages_code_key" ON "billing_packages"("code");
CREATE INDEX "user_packages_burn_down_idx" ON "user_packages"("user_id", "status", "priority", "expires_at");
CREATE UNIQUE INDEX "reservations_consumption_id_key" ON "reservations"("consumption_id");
CREATE INDEX "reservations_user_id_created_at_idx" ON "reservations"("user_id", "created_at");
CREATE INDEX "consumption_records_user_id_created_at_idx" ON "consumption_records"("user_id", "created_at");
CREATE INDEX "consumption_records_action_key_created_at_idx" ON "consumption_records"("action_key", "created_at");
CREATE INDEX "consumption_records_created_at_idx" ON "consumption_records"("created_at");
CREATE INDEX "consumption_refunds_consumption_id_idx" ON "consumption_refunds"("consumption_id");
CREATE INDEX "audit_events_entity_type_entity_id_idx" ON "audit_events"("entity_type", "entity_id");
CREATE INDEX "credit_ledger_entries_user_package_id_idx" ON "credit_ledger_entries"("user_package_id");
CREATE INDEX "credit_ledger_entries_user_id_created_at_idx" ON "credit_ledger_entries"("user_id", "created_at");
CREATE INDEX "credit_ledger_entries_reference_type_reference_id_idx" ON "credit_ledger_entries"("reference_type", "reference_id");

-- AddForeignKey
ALTER TABLE "user_packages" ADD CONSTRAINT "user_packages_package_id_fkey" FOREIGN KEY ("package_id") REFERENCES "billing_packages"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_consumption_id_fkey" FOREIGN KEY ("consumption_id") REFERENCES "consumption_records"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "reservation_allocations" ADD CONSTRAINT "reservation_allocations_reservation_id_fkey" FOREIGN KEY ("reservation_id") REFERENCES "reservations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "reservation_allocations" ADD CONSTRAINT "reservation_allocations_user_package_id_fkey" FOREIGN KEY ("user_package_id") REFERENCES "user_packages"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "consumption_allocations" ADD CONSTRAINT "consumption_allocations_consumption_id_fkey" FOREIGN KEY ("consumption_id") REFERENCES "consumption_records"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "consumption_allocations" ADD CONSTRAINT "consumption_allocations_user_package_id_fkey" FOREIGN KEY ("user_package_id") REFERENCES "user_packages"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "consumption_refunds" ADD CONSTRAINT "consumption_refunds_consumption_id_fkey" FOREIGN KEY ("consumption_id") REFERENCES "consumption_records"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "credit_ledger_entries" ADD CONSTRAINT "credit_ledger_entries_user_package_id_fkey" FOREIGN KEY ("user_package_id") REFERENCES "user_packages"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The ledger and the audit log are append-only: history is corrected by new entries, never by edits.
CREATE FUNCTION "reject_update_or_delete"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER "credit_ledger_entries_append_only"
  BEFORE UPDATE OR DELETE ON "credit_ledger_entries"
  FOR EACH ROW EXECUTE FUNCTION "reject_update_or_delete"();
CREATE TRIGGER "audit_events_append_only"
  BEFORE UPDATE OR DELETE ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION "reject_update_or_delete"();
