-- Coupons and promo codes (coupons feature), and what an order's coupon took off.
CREATE TYPE "CouponKind" AS ENUM ('percent', 'fixed');
CREATE TYPE "CouponRedemptionStatus" AS ENUM ('reserved', 'confirmed', 'released');

CREATE TABLE "coupons" (
    "id" UUID NOT NULL,
    "code" TEXT NOT NULL,
    "kind" "CouponKind" NOT NULL,
    "percent_basis_points" INTEGER,
    "amounts_off" JSONB,
    "valid_from" TIMESTAMPTZ(3),
    "valid_until" TIMESTAMPTZ(3),
    "max_redemptions" INTEGER,
    "max_per_user" INTEGER,
    "package_ids" JSONB,
    "first_purchase_only" BOOLEAN NOT NULL DEFAULT false,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "used_count" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "coupons_pkey" PRIMARY KEY ("id"),
    -- Last line of defence behind the conditional UPDATE: never more uses than the limit.
    CONSTRAINT "coupons_used_count_check" CHECK ("used_count" >= 0 AND ("max_redemptions" IS NULL OR "used_count" <= "max_redemptions"))
);
CREATE UNIQUE INDEX "coupons_code_key" ON "coupons"("code");

CREATE TABLE "coupon_redemptions" (
    "order_id" UUID NOT NULL,
    "coupon_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "status" "CouponRedemptionStatus" NOT NULL DEFAULT 'reserved',
    "discount_minor" INTEGER NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "over_limit" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "coupon_redemptions_pkey" PRIMARY KEY ("order_id")
);
CREATE INDEX "coupon_redemptions_coupon_id_user_id_status_idx" ON "coupon_redemptions"("coupon_id", "user_id", "status");
ALTER TABLE "coupon_redemptions" ADD CONSTRAINT "coupon_redemptions_coupon_id_fkey" FOREIGN KEY ("coupon_id") REFERENCES "coupons"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "coupon_redemptions" ADD CONSTRAINT "coupon_redemptions_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

ALTER TABLE "orders" ADD COLUMN "list_amount_minor" INTEGER;
ALTER TABLE "orders" ADD COLUMN "discount_minor" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "orders" ADD COLUMN "coupon_code" TEXT;
