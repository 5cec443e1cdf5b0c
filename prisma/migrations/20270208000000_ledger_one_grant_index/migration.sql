-- One index over a grant's ledger entries instead of two. Keyset pages of a grant's entries read its
-- (user_package_id, id) keys, and the daily inspection's per-grant sums read the included columns without
-- touching the heap, as the separate sums index let them; every ledger insert (each deduct writes one)
-- now maintains one index fewer.
-- On a large ledger build it beforehand, outside the migration:
--   CREATE INDEX CONCURRENTLY credit_ledger_entries_grant_entries_idx ON credit_ledger_entries
--     (user_package_id, id) INCLUDE (amount, reserved_delta, used_delta);
CREATE INDEX IF NOT EXISTS "credit_ledger_entries_grant_entries_idx" ON "credit_ledger_entries" ("user_package_id", "id") INCLUDE ("amount", "reserved_delta", "used_delta");
DROP INDEX IF EXISTS "credit_ledger_entries_grant_sums_idx";
DROP INDEX IF EXISTS "credit_ledger_entries_user_package_id_id_idx";
