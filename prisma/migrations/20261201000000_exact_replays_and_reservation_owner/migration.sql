-- Replays answer byte for byte: the first answer is kept as the exact JSON text sent (jsonb reorders
-- object keys). Rows written before this migration keep their jsonb answer; new rows leave it NULL.
-- A row with status_code 0 is a claim in progress (the API claimed the key before starting a workflow).
ALTER TABLE "idempotency_records" ADD COLUMN "response_text" TEXT;
ALTER TABLE "idempotency_records" ALTER COLUMN "response_body" DROP NOT NULL;

-- The credential that created a reservation: only it may commit, release, extend or refund it.
-- NULL for reservations created before this migration (any service key may settle those).
ALTER TABLE "reservations" ADD COLUMN "created_by" TEXT;
