-- Sellers, their packages and the append-only earnings ledger (sellers feature).
CREATE TABLE "sellers" (
    "id" UUID NOT NULL,
    "code" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "platform_fee_basis_points" INTEGER NOT NULL DEFAULT 1500,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "sellers_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "sellers_fee_check" CHECK ("platform_fee_basis_points" BETWEEN 0 AND 10000)
);
CREATE UNIQUE INDEX "sellers_code_key" ON "sellers"("code");

CREATE TABLE "seller_packages" (
    "package_id" UUID NOT NULL,
    "seller_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "seller_packages_pkey" PRIMARY KEY ("package_id")
);
CREATE INDEX "seller_packages_seller_id_idx" ON "seller_packages"("seller_id");
ALTER TABLE "seller_packages" ADD CONSTRAINT "seller_packages_seller_id_fkey" FOREIGN KEY ("seller_id") REFERENCES "sellers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "seller_packages" ADD CONSTRAINT "seller_packages_package_id_fkey" FOREIGN KEY ("package_id") REFERENCES "billing_packages"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "seller_earning_entries" (
    "id" BIGSERIAL NOT NULL,
    "source_key" TEXT NOT NULL,
    "seller_id" UUID NOT NULL,
    "order_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "gross_minor" INTEGER NOT NULL,
    "platform_fee_minor" INTEGER NOT NULL,
    "seller_share_minor" INTEGER NOT NULL,
    "fee_basis_points" INTEGER NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "seller_earning_entries_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "seller_earning_entries_sum_check" CHECK ("platform_fee_minor" + "seller_share_minor" = "gross_minor")
);
CREATE UNIQUE INDEX "seller_earning_entries_source_key_key" ON "seller_earning_entries"("source_key");
CREATE INDEX "seller_earning_entries_seller_id_occurred_at_idx" ON "seller_earning_entries"("seller_id", "occurred_at");
CREATE INDEX "seller_earning_entries_order_id_idx" ON "seller_earning_entries"("order_id");
ALTER TABLE "seller_earning_entries" ADD CONSTRAINT "seller_earning_entries_seller_id_fkey" FOREIGN KEY ("seller_id") REFERENCES "sellers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
CREATE TRIGGER "seller_earning_entries_append_only"
  BEFORE UPDATE OR DELETE ON "seller_earning_entries"
  FOR EACH ROW EXECUTE FUNCTION "reject_update_or_delete"();
