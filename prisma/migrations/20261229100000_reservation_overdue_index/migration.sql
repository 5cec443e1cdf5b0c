-- The expiry sweep looks for holds still `held` long past their deadline (their run never started or
-- was terminated): credits/reservations.ts, expireOverdueHolds. Without this it would scan every
-- reservation ever made, every sweep.
CREATE INDEX "reservations_status_expires_at_idx" ON "reservations"("status", "expires_at");
