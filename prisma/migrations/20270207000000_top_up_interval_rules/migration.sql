-- Interval top-up rules (modules/topups): "buy the package on day D of each month (UTC)", run by a
-- Temporal Schedule per rule. A threshold rule keeps its threshold; an interval rule has a day instead.
CREATE TYPE "TopUpRuleKind" AS ENUM ('threshold', 'interval');

ALTER TABLE "top_up_rules"
    ADD COLUMN "kind" "TopUpRuleKind" NOT NULL DEFAULT 'threshold',
    ADD COLUMN "day_of_month" INTEGER,
    ALTER COLUMN "threshold_credits" DROP NOT NULL;

-- Each kind has exactly its own trigger: a threshold, or a day every month has (1-28).
ALTER TABLE "top_up_rules" ADD CONSTRAINT "top_up_rules_kind_check" CHECK (
    ("kind" = 'threshold' AND "threshold_credits" IS NOT NULL AND "day_of_month" IS NULL)
    OR ("kind" = 'interval' AND "threshold_credits" IS NULL AND "day_of_month" BETWEEN 1 AND 28)
);
