-- The tax of an order, fixed when it is placed (modules/invoices/order-tax.ts): the mode, the buyer's
-- billing country and its rate, the subtotal after the coupon and the tax. amount_minor stays what is
-- charged (the total). Orders placed before have none of them (NULL): their invoice splits the payment.
ALTER TABLE "orders"
    ADD COLUMN "tax_mode" TEXT,
    ADD COLUMN "tax_country" CHAR(2),
    ADD COLUMN "tax_rate_basis_points" INTEGER,
    ADD COLUMN "subtotal_minor" INTEGER,
    ADD COLUMN "tax_minor" INTEGER,
    ADD CONSTRAINT "orders_tax_check" CHECK (
        ("tax_mode" IS NULL AND "tax_rate_basis_points" IS NULL AND "subtotal_minor" IS NULL AND "tax_minor" IS NULL)
        OR ("tax_mode" IN ('inclusive', 'exclusive')
            AND "tax_rate_basis_points" BETWEEN 0 AND 100000
            AND "subtotal_minor" >= 0
            AND "tax_minor" >= 0
            AND "amount_minor" = CASE WHEN "tax_mode" = 'exclusive' THEN "subtotal_minor" + "tax_minor" ELSE "subtotal_minor" END)
    );
