-- Retention (docs/operations.md → Retention).
--
-- 1. Idempotency keys expire: the retention job deletes the oldest expired records in batches, walking
--    this index from the oldest. On a large table, build it beforehand without blocking writes
--    (CREATE INDEX CONCURRENTLY idempotency_records_created_at_idx ON idempotency_records (created_at));
--    this statement then finds it and does nothing.
CREATE INDEX IF NOT EXISTS "idempotency_records_created_at_idx" ON "idempotency_records" ("created_at");

-- The ledger is never deleted; its reads must not slow as it grows. A grant's ledger page (keyset on id,
-- modules/reports/operations.ts) read (user_package_id) and sorted the grant's whole history for each page;
-- (user_package_id, id) answers it in order, and the invariant's per-grant sums as before. Replacing the
-- index keeps a deduct's cost unchanged. On a large ledger, build the new one CONCURRENTLY beforehand.
CREATE INDEX IF NOT EXISTS "credit_ledger_entries_user_package_id_id_idx" ON "credit_ledger_entries" ("user_package_id", "id");
DROP INDEX IF EXISTS "credit_ledger_entries_user_package_id_idx";

-- 2. The event log, webhook deliveries, their attempts and notifications become partitioned by month of
--    the EVENT's time (occurred_at), so an old month is dropped with DROP TABLE, never a bulk DELETE.
--    Deliveries, attempts and notifications carry their event's occurred_at (event_occurred_at) as
--    their partition key: an event and everything made from it live in the same month and go together,
--    and since an event id determines its occurred_at, each unique key that now includes the partition
--    key ((event_id, endpoint_id, event_occurred_at), ...) is exactly as unique as before.
--    Existing rows are copied into the monthly partitions in this one transaction; see
--    docs/operations.md → Retention for how long that takes on a large table.

ALTER TABLE "webhook_delivery_attempts" DROP CONSTRAINT "webhook_delivery_attempts_delivery_id_fkey";
ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "webhook_deliveries_event_id_fkey";
ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "webhook_deliveries_endpoint_id_fkey";
DROP TRIGGER "events_append_only" ON "events";

ALTER TABLE "events" RENAME TO "events_unpartitioned";
ALTER TABLE "webhook_deliveries" RENAME TO "webhook_deliveries_unpartitioned";
ALTER TABLE "webhook_delivery_attempts" RENAME TO "webhook_delivery_attempts_unpartitioned";
ALTER TABLE "notifications" RENAME TO "notifications_unpartitioned";

CREATE TABLE "events" (
    "id" UUID NOT NULL,
    "seq" BIGINT NOT NULL DEFAULT nextval('events_seq_seq'),
    "type" TEXT NOT NULL,
    "user_id" TEXT,
    "payload" JSONB NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "relayed_at" TIMESTAMPTZ(3)
) PARTITION BY RANGE ("occurred_at");
ALTER SEQUENCE "events_seq_seq" OWNED BY "events"."seq";

CREATE TABLE "webhook_deliveries" (
    "id" UUID NOT NULL,
    "event_id" UUID NOT NULL,
    "event_occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "endpoint_id" UUID NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempt_count" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "next_attempt_at" TIMESTAMPTZ(3),
    "delivered_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL
) PARTITION BY RANGE ("event_occurred_at");

CREATE TABLE "webhook_delivery_attempts" (
    "id" BIGINT NOT NULL DEFAULT nextval('webhook_delivery_attempts_id_seq'),
    "delivery_id" UUID NOT NULL,
    "event_occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "run_id" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "scheduled_at" TIMESTAMPTZ(3) NOT NULL,
    "status_code" INTEGER,
    "error" TEXT,
    "latency_ms" INTEGER NOT NULL,
    "response_excerpt" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
) PARTITION BY RANGE ("event_occurred_at");
ALTER SEQUENCE "webhook_delivery_attempts_id_seq" OWNED BY "webhook_delivery_attempts"."id";

CREATE TABLE "notifications" (
    "id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "event_occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "type" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "read_at" TIMESTAMPTZ(3),
    "email_status" TEXT NOT NULL DEFAULT 'pending',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
) PARTITION BY RANGE ("event_occurred_at");

-- The one place that knows the partitions' names and bounds: months in UTC, named <table>_pYYYYMM.
-- Used here and by the retention job (modules/retention/event-partitions.ts). A month that exists is
-- skipped before any lock is taken, so the hourly run costs nothing once the months ahead exist.
CREATE FUNCTION ensure_event_partitions(p_from TIMESTAMPTZ, p_to TIMESTAMPTZ) RETURNS SETOF TEXT
LANGUAGE plpgsql AS $$
DECLARE
  v_month TIMESTAMPTZ := date_trunc('month', p_from AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  v_next TIMESTAMPTZ;
  v_table TEXT;
  v_partition TEXT;
BEGIN
  WHILE v_month < p_to LOOP
    v_next := (date_trunc('month', v_month AT TIME ZONE 'UTC') + INTERVAL '1 month') AT TIME ZONE 'UTC';
    -- Parents before children: the events partition exists before the rows that reference it.
    FOREACH v_table IN ARRAY ARRAY['events', 'webhook_deliveries', 'webhook_delivery_attempts', 'notifications'] LOOP
      v_partition := v_table || '_p' || to_char(v_month AT TIME ZONE 'UTC', 'YYYYMM');
      IF to_regclass(format('public.%I', v_partition)) IS NULL THEN
        EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)', v_partition, v_table, v_month, v_next);
        RETURN NEXT v_partition;
      END IF;
    END LOOP;
    v_month := v_next;
  END LOOP;
END $$;

-- Every month that has rows (and at least the last one: an event stamped a moment ago may fall into it),
-- through six months ahead (the retention job keeps that lead).
SELECT count(*) FROM ensure_event_partitions(
  LEAST(COALESCE((SELECT min("occurred_at") FROM "events_unpartitioned"), CURRENT_TIMESTAMP),
        COALESCE((SELECT min("created_at") FROM "notifications_unpartitioned" n
                  WHERE NOT EXISTS (SELECT 1 FROM "events_unpartitioned" e WHERE e."id" = n."event_id")), CURRENT_TIMESTAMP),
        CURRENT_TIMESTAMP - INTERVAL '1 month'),
  CURRENT_TIMESTAMP + INTERVAL '6 months');

INSERT INTO "events" ("id", "seq", "type", "user_id", "payload", "occurred_at", "relayed_at")
SELECT "id", "seq", "type", "user_id", "payload", "occurred_at", "relayed_at" FROM "events_unpartitioned";

INSERT INTO "webhook_deliveries" ("id", "event_id", "event_occurred_at", "endpoint_id", "status", "attempt_count", "last_error", "next_attempt_at", "delivered_at", "created_at", "updated_at")
SELECT d."id", d."event_id", e."occurred_at", d."endpoint_id", d."status", d."attempt_count", d."last_error", d."next_attempt_at", d."delivered_at", d."created_at", d."updated_at"
FROM "webhook_deliveries_unpartitioned" d JOIN "events_unpartitioned" e ON e."id" = d."event_id";

INSERT INTO "webhook_delivery_attempts" ("id", "delivery_id", "event_occurred_at", "run_id", "attempt", "scheduled_at", "status_code", "error", "latency_ms", "response_excerpt", "created_at")
SELECT a."id", a."delivery_id", e."occurred_at", a."run_id", a."attempt", a."scheduled_at", a."status_code", a."error", a."latency_ms", a."response_excerpt", a."created_at"
FROM "webhook_delivery_attempts_unpartitioned" a
JOIN "webhook_deliveries_unpartitioned" d ON d."id" = a."delivery_id"
JOIN "events_unpartitioned" e ON e."id" = d."event_id";

-- A notice is made from an event; one whose event is not in the log (there was no foreign key) keeps its
-- own time as the partition key.
INSERT INTO "notifications" ("id", "user_id", "event_id", "event_occurred_at", "type", "title", "body", "read_at", "email_status", "created_at")
SELECT n."id", n."user_id", n."event_id", COALESCE(e."occurred_at", n."created_at"), n."type", n."title", n."body", n."read_at", n."email_status", n."created_at"
FROM "notifications_unpartitioned" n LEFT JOIN "events_unpartitioned" e ON e."id" = n."event_id";

DROP TABLE "webhook_delivery_attempts_unpartitioned";
DROP TABLE "webhook_deliveries_unpartitioned";
DROP TABLE "notifications_unpartitioned";
DROP TABLE "events_unpartitioned";

-- Keys and indexes after the copy (one sorted build per partition instead of row-by-row inserts).
ALTER TABLE "events" ADD CONSTRAINT "events_pkey" PRIMARY KEY ("id", "occurred_at");
-- seq stays unique by its sequence; the index serves the relay's and the events page's commit order.
CREATE INDEX "events_seq_idx" ON "events"("seq");
CREATE INDEX "events_relayed_at_seq_idx" ON "events"("relayed_at", "seq");
CREATE INDEX "events_type_occurred_at_idx" ON "events"("type", "occurred_at");
CREATE INDEX "events_user_id_occurred_at_idx" ON "events"("user_id", "occurred_at");

ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id", "event_occurred_at");
CREATE UNIQUE INDEX "webhook_deliveries_event_id_endpoint_id_event_occurred_at_key" ON "webhook_deliveries"("event_id", "endpoint_id", "event_occurred_at");
CREATE INDEX "webhook_deliveries_endpoint_id_status_idx" ON "webhook_deliveries"("endpoint_id", "status");
-- The admin list's order (newest first) and the retention job's "anything still pending here?".
CREATE INDEX "webhook_deliveries_status_idx" ON "webhook_deliveries"("status");


ALTER TABLE "webhook_delivery_attempts" ADD CONSTRAINT "webhook_delivery_attempts_pkey" PRIMARY KEY ("id", "event_occurred_at");
CREATE UNIQUE INDEX "webhook_delivery_attempts_delivery_run_attempt_key" ON "webhook_delivery_attempts"("delivery_id", "run_id", "attempt", "event_occurred_at");

ALTER TABLE "notifications" ADD CONSTRAINT "notifications_pkey" PRIMARY KEY ("id", "event_occurred_at");
CREATE UNIQUE INDEX "notifications_event_id_event_occurred_at_key" ON "notifications"("event_id", "event_occurred_at");
CREATE INDEX "notifications_user_id_created_at_idx" ON "notifications"("user_id", "created_at");
CREATE INDEX "notifications_email_status_idx" ON "notifications"("email_status");

ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
-- No foreign keys between the partitioned tables (delivery → event, attempt → delivery): with them, a
-- month could only leave by detaching each partition in turn, and detaching a referenced partition
-- checks the referencing table for rows that still point into it while holding its parent's lock; without
-- them, a month's four partitions are dropped together in one short transaction. What the keys guarded
-- still holds by construction: deliveries and attempts are written only for an event just read
-- (modules/events/relay.ts, delivery.ts), events are never deleted row by row (the trigger below), and a
-- month leaves with everything made from its events.

-- The event log stays append-only row by row; only a whole expired month leaves it (DROP of a partition
-- fires no row trigger).
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON "events" FOR EACH ROW EXECUTE FUNCTION events_append_only();
