-- Prices of a package in more currencies (pricing feature).
CREATE TABLE "package_prices" (
    "package_id" UUID NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "amount_minor" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "package_prices_pkey" PRIMARY KEY ("package_id", "currency"),
    CONSTRAINT "package_prices_amount_check" CHECK ("amount_minor" >= 0)
);
ALTER TABLE "package_prices" ADD CONSTRAINT "package_prices_package_id_fkey" FOREIGN KEY ("package_id") REFERENCES "billing_packages"("id") ON DELETE CASCADE ON UPDATE CASCADE;
