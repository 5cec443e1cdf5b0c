-- What became of a refill (so a caller can poll it), what started it, and manual top-ups: a refill the
-- user asked for (POST /v1/me/top-ups) counts against their rule's caps when they have a rule, and has
-- no rule otherwise.
CREATE TYPE "TopUpRefillTrigger" AS ENUM ('threshold', 'manual', 'interval');
CREATE TYPE "TopUpRefillOutcome" AS ENUM ('pending', 'requires_action', 'succeeded', 'failed');

ALTER TABLE "top_up_refills"
    ALTER COLUMN "rule_id" DROP NOT NULL,
    ADD COLUMN "trigger" "TopUpRefillTrigger" NOT NULL DEFAULT 'threshold',
    ADD COLUMN "package_code" TEXT,
    ADD COLUMN "payment_method_id" UUID,
    ADD COLUMN "order_id" UUID,
    ADD COLUMN "outcome" "TopUpRefillOutcome" NOT NULL DEFAULT 'pending',
    ADD COLUMN "action_url" TEXT,
    ADD COLUMN "failure_reason" TEXT;
