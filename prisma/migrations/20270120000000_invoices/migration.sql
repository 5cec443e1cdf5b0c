-- Invoices and credit notes (modules/invoices): the buyer's billing details, one counter row per
-- numbering series, and the two append-only documents.
CREATE TABLE "billing_details" (
    "user_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "address" TEXT NOT NULL DEFAULT '',
    "country" CHAR(2),
    "tax_id" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "billing_details_pkey" PRIMARY KEY ("user_id")
);

-- Gapless numbering: the counter row is incremented in the transaction that issues the document, so a
-- rolled-back issue gives its number back (a SEQUENCE would not).
CREATE TABLE "document_number_counters" (
    "series" TEXT NOT NULL,
    "last_number" INTEGER NOT NULL,
    CONSTRAINT "document_number_counters_pkey" PRIMARY KEY ("series"),
    CONSTRAINT "document_number_counters_positive" CHECK ("last_number" > 0)
);

CREATE TABLE "invoices" (
    "id" UUID NOT NULL,
    "number" TEXT NOT NULL,
    "series" TEXT NOT NULL,
    "sequence" INTEGER NOT NULL,
    "order_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "seller_id" UUID,
    "seller" JSONB NOT NULL,
    "platform" JSONB NOT NULL,
    "buyer" JSONB NOT NULL,
    "lines" JSONB NOT NULL,
    "tax_mode" TEXT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "net_minor" INTEGER NOT NULL,
    "tax_minor" INTEGER NOT NULL,
    "total_minor" INTEGER NOT NULL,
    "payment_source" TEXT NOT NULL,
    "payment_reference" TEXT NOT NULL,
    "issued_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "invoices_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "invoices_totals_check" CHECK ("net_minor" + "tax_minor" = "total_minor" AND "total_minor" >= 0 AND "tax_minor" >= 0),
    CONSTRAINT "invoices_tax_mode_check" CHECK ("tax_mode" IN ('inclusive', 'exclusive'))
);
CREATE UNIQUE INDEX "invoices_number_key" ON "invoices"("number");
CREATE UNIQUE INDEX "invoices_order_id_key" ON "invoices"("order_id");
CREATE UNIQUE INDEX "invoices_series_sequence_key" ON "invoices"("series", "sequence");
CREATE INDEX "invoices_user_id_issued_at_idx" ON "invoices"("user_id", "issued_at");
CREATE INDEX "invoices_issued_at_idx" ON "invoices"("issued_at");
CREATE TRIGGER "invoices_append_only"
  BEFORE UPDATE OR DELETE ON "invoices"
  FOR EACH ROW EXECUTE FUNCTION "reject_update_or_delete"();

CREATE TABLE "credit_notes" (
    "id" UUID NOT NULL,
    "number" TEXT NOT NULL,
    "series" TEXT NOT NULL,
    "sequence" INTEGER NOT NULL,
    "invoice_id" UUID NOT NULL,
    "refund_id" UUID NOT NULL,
    "order_id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "tax_rate_basis_points" INTEGER NOT NULL,
    "net_minor" INTEGER NOT NULL,
    "tax_minor" INTEGER NOT NULL,
    "amount_minor" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "issued_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "credit_notes_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "credit_notes_amount_check" CHECK ("amount_minor" > 0 AND "net_minor" + "tax_minor" = "amount_minor")
);
CREATE UNIQUE INDEX "credit_notes_number_key" ON "credit_notes"("number");
CREATE UNIQUE INDEX "credit_notes_refund_id_key" ON "credit_notes"("refund_id");
CREATE UNIQUE INDEX "credit_notes_series_sequence_key" ON "credit_notes"("series", "sequence");
CREATE INDEX "credit_notes_invoice_id_idx" ON "credit_notes"("invoice_id");
CREATE INDEX "credit_notes_user_id_issued_at_idx" ON "credit_notes"("user_id", "issued_at");
ALTER TABLE "credit_notes" ADD CONSTRAINT "credit_notes_invoice_id_fkey" FOREIGN KEY ("invoice_id") REFERENCES "invoices"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
CREATE TRIGGER "credit_notes_append_only"
  BEFORE UPDATE OR DELETE ON "credit_notes"
  FOR EACH ROW EXECUTE FUNCTION "reject_update_or_delete"();
