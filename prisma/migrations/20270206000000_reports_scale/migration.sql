-- Reports on big tables: the statistics add refunds made since the last rollup (a range on
-- created_at), and the expiring-window listing orders every grant with an expiry by (expires_at, id)
-- without a status filter, which (status, expires_at) cannot serve.

-- CreateIndex
CREATE INDEX "consumption_refunds_created_at_idx" ON "consumption_refunds"("created_at");

-- CreateIndex
CREATE INDEX "user_packages_expires_at_id_idx" ON "user_packages"("expires_at", "id");
