-- The ledger's (user_id, created_at) index is read by no query (the ledger is read per grant, by
-- user_package_id, and per reference, by (reference_type, reference_id)), and every balance change paid
-- for it: one more index entry and one more relation lock per deduct, where a deduct's transaction
-- already takes ~28 relation locks, more than PostgreSQL's 16 fast-path slots (issue 13, target 1).
-- A user's history is read from consumption_records (user_id, created_at) or through their grants.
DROP INDEX "credit_ledger_entries_user_id_created_at_idx";
