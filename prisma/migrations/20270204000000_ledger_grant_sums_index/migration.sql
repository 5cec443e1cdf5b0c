-- The daily inspection sums every grant's ledger (amount, reserved_delta, used_delta) to check the ledger
-- invariant. Through the plain (user_package_id) index each entry cost a random heap read: on a year of data
-- (10 million entries) the first page of users, with the heaviest users, read 540,000 heap blocks and took
-- 8.7 s. With the summed columns in the index the sums are index-only (the ledger is append-only, so its pages
-- are all-visible once vacuumed): 1.4 s for that page, about 0.1 s for a typical one. Same leading column,
-- so it serves every lookup the old index did, and it replaces it: a deduct still writes one entry here.
CREATE INDEX "credit_ledger_entries_grant_sums_idx" ON "credit_ledger_entries"("user_package_id", "amount", "reserved_delta", "used_delta");
DROP INDEX "credit_ledger_entries_user_package_id_idx";
