-- One home for the burn-down order in SQL: burn_down_plan answers which grants a spend draws from, in
-- what order and how much from each, by the rule of modules/credits/rules/burn-down.ts (planSpend,
-- compareBurnDownOrder; settleHold for a commit). deduct_credits, hold_credits and commit_reservation
-- call it instead of each writing the order out. Each is redefined from its latest definition
-- (deduct_credits: 20270105000100_claim_races_deduct; hold_credits and commit_reservation:
-- 20270102000000_claim_races) with only its planning loop replaced: the claim loop, the locks, the
-- balance-low rule (balance_low_after through note_available_credits) and the answers are unchanged.
-- tests/engine-model.test.ts checks the SQL against the pure rule.

-- The plan for spending p_credits, one row per candidate grant in burn-down order (n = 1, 2, ...):
--   candidates: the user's spendable grants at p_now (active, started, not expired, credits left), each
--     with what it has left; or, given p_reservation_id, the grants that reservation holds credits on,
--     each with what it holds there (a commit draws from its hold, not from the balance);
--   order: priority ascending, then soonest expiry (never-expiring last), then oldest, then id;
--   take: what the spend draws from the grant, greedily in that order (0 once the spend is covered).
-- A short plan (sum(take) < p_credits) is the caller's to refuse. Called under the user's lock, so the
-- amounts it reads are the ones the caller writes against. LANGUAGE sql and STABLE, so the planner can
-- inline it into the caller's statement.
CREATE FUNCTION burn_down_plan(p_user_id text, p_now timestamptz, p_credits bigint, p_reservation_id uuid DEFAULT NULL)
RETURNS TABLE (n bigint, grant_id uuid, available integer, take integer)
LANGUAGE sql STABLE AS $$
  SELECT
    row_number() OVER spend_order,
    c.id,
    c.available,
    least(c.available::bigint, greatest(0, p_credits - coalesce(sum(c.available) OVER drawn_before, 0)))::integer
  FROM (
    SELECT g.id, g.priority, g.expires_at, g.created_at, g.total_credits - g.used_credits - g.reserved_credits AS available
    FROM user_packages g
    WHERE p_reservation_id IS NULL
      AND g.user_id = p_user_id AND g.status = 'active' AND g.starts_at <= p_now
      AND (g.expires_at IS NULL OR g.expires_at > p_now)
      AND g.total_credits - g.used_credits - g.reserved_credits > 0
    UNION ALL
    SELECT g.id, g.priority, g.expires_at, g.created_at, a.credits
    FROM reservation_allocations a JOIN user_packages g ON g.id = a.user_package_id
    WHERE p_reservation_id IS NOT NULL AND a.reservation_id = p_reservation_id
  ) c
  WINDOW spend_order AS (ORDER BY c.priority ASC, c.expires_at ASC NULLS LAST, c.created_at ASC, c.id ASC),
         drawn_before AS (spend_order ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
  ORDER BY 1
$$;

-- deduct_credits as 20270105000100_claim_races_deduct made it, planning with burn_down_plan.
CREATE OR REPLACE FUNCTION deduct_credits(
  p_scope text,
  p_key text,
  p_request_hash text,
  p_actor text,
  p_user_id text,
  p_action_key text,
  p_quantity integer,
  -- The metadata's JSON text as the API serialised it (NULL when absent): stored as jsonb, answered verbatim.
  p_metadata text,
  p_consumption_id uuid,
  -- The API's clock, as before: which grants are live, and the consumption's created_at.
  p_now timestamptz,
  p_balance_low_threshold integer,
  -- One row out (OUT parameters, no result set to materialise).
  OUT was_replayed boolean,
  OUT answer text
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_claimed integer;
  v_stored record;
  v_unit_price integer;
  v_price_status text;
  v_credits bigint;
  v_available bigint;
  v_grant_ids uuid[] := '{}';
  v_takes integer[] := '{}';
  v_answer text;
  -- The answer's allocations, as JSON members, written from the plan.
  v_allocations text := '';
BEGIN
  -- 1. The idempotency claim (idempotency/store.ts, runIdempotent): the key claimed, or the record
  -- holding it locked (a concurrent first request's: this waits for it to commit, then replays it).
  -- A record freed between the two (a refused request's claim, abandoned) is claimed afresh: work done
  -- without holding the key could not stop a concurrent retry from doing it a second time.
  LOOP
    INSERT INTO idempotency_records (scope, key, request_hash, status_code)
    VALUES (p_scope, p_key, p_request_hash, 0)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS v_claimed = ROW_COUNT;
    EXIT WHEN v_claimed = 1;
    SELECT r.request_hash, r.status_code, r.response_text, r.response_body INTO v_stored
    FROM idempotency_records r WHERE r.scope = p_scope AND r.key = p_key FOR UPDATE;
    IF FOUND THEN
      IF v_stored.request_hash <> p_request_hash THEN
        RAISE EXCEPTION USING ERRCODE = 'DB409', MESSAGE = 'IDEMPOTENCY_KEY_REUSED';
      END IF;
      IF v_stored.status_code <> 0 THEN
        -- Rows from before exact replays hold jsonb only.
        was_replayed := true;
        answer := coalesce(v_stored.response_text, v_stored.response_body::text, 'null');
        RETURN;
      END IF;
      -- A claim in progress for this same request: the work is done here (takeover).
      EXIT;
    END IF;
  END LOOP;

  -- 2. The price (credits/pricing.ts, priceAction).
  SELECT p.credits_per_unit, p.status::text INTO v_unit_price, v_price_status
  FROM action_prices p WHERE p.action_key = p_action_key;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'DB404', MESSAGE = 'NOT_FOUND';
  END IF;
  IF v_price_status <> 'active' THEN
    RAISE EXCEPTION USING ERRCODE = 'DB422', MESSAGE = 'ACTION_DISABLED';
  END IF;
  v_credits := v_unit_price::bigint * p_quantity;
  IF v_credits > 2147483647 THEN
    RAISE EXCEPTION USING ERRCODE = 'DB400', MESSAGE = 'VALIDATION_FAILED';
  END IF;
  IF v_credits < 0 THEN
    RAISE EXCEPTION 'deduct_credits: negative cost % for action %', v_credits, p_action_key;
  END IF;

  -- 3. The user's lock (credits/locks.ts), then 4. the plan (burn_down_plan) from the grants read under it.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_user_id, 0));
  SELECT coalesce(sum(p.available), 0),
         coalesce(array_agg(p.grant_id ORDER BY p.n) FILTER (WHERE p.take > 0), '{}'),
         coalesce(array_agg(p.take ORDER BY p.n) FILTER (WHERE p.take > 0), '{}'),
         coalesce(string_agg('{"grantId":"' || p.grant_id::text || '","credits":' || p.take || '}', ',' ORDER BY p.n)
                  FILTER (WHERE p.take > 0), '')
  INTO v_available, v_grant_ids, v_takes, v_allocations
  FROM burn_down_plan(p_user_id, p_now, v_credits) p;
  IF v_available < v_credits THEN
    RAISE EXCEPTION USING ERRCODE = 'DB402', MESSAGE = 'INSUFFICIENT_CREDITS',
      DETAIL = json_build_object('required', v_credits, 'available', v_available)::text;
  END IF;

  -- 5. The consumption, where its credits came from, the grants and their ledger entries.
  INSERT INTO consumption_records (id, user_id, action_key, quantity, unit_price, credits_cost, metadata, created_at)
  VALUES (p_consumption_id, p_user_id, p_action_key, p_quantity, v_unit_price, v_credits, p_metadata::jsonb, p_now);
  -- One statement per grant (a deduct takes one grant but rarely more): primary-key writes whose generic
  -- plans stay index lookups, where a set-based statement over unnest() plans a join for ~100 rows.
  FOR i IN 1 .. coalesce(array_length(v_grant_ids, 1), 0) LOOP
    INSERT INTO consumption_allocations (consumption_id, user_package_id, credits)
    VALUES (p_consumption_id, v_grant_ids[i], v_takes[i]);
    UPDATE user_packages g SET
      used_credits = g.used_credits + v_takes[i],
      status = CASE
        WHEN g.status NOT IN ('active', 'depleted') THEN g.status
        WHEN g.total_credits - (g.used_credits + v_takes[i]) - g.reserved_credits = 0 THEN 'depleted'::"GrantStatus"
        ELSE 'active'::"GrantStatus"
      END,
      updated_at = now()
    WHERE g.id = v_grant_ids[i] AND g.user_id = p_user_id;
    INSERT INTO credit_ledger_entries
      (user_id, user_package_id, entry_type, amount, reserved_delta, used_delta, reference_type, reference_id, idempotency_key, actor)
    VALUES (p_user_id, v_grant_ids[i], 'deduct'::"LedgerEntryType", -v_takes[i], 0, v_takes[i], 'consumption', p_consumption_id::text, p_key, p_actor);
  END LOOP;

  -- 6. The outbox (events/record.ts) and the balance-low rule (balance_low_after), under the lock.
  INSERT INTO events (id, type, user_id, payload)
  VALUES (gen_random_uuid(), 'credits.deducted', p_user_id,
          jsonb_build_object('consumptionId', p_consumption_id, 'actionKey', p_action_key, 'quantity', p_quantity, 'credits', v_credits));
  -- Available after the spend: the spendable total read under the lock, less what was taken.
  PERFORM balance_low_after(p_user_id, v_available - v_credits, p_balance_low_threshold);

  -- 7. The answer (credits/views.ts ConsumptionView, keys in the order recordConsumption built them),
  -- stored as the exact text every replay sends.
  v_answer := '{"id":"' || p_consumption_id::text
    || '","userId":' || to_json(p_user_id)::text
    || ',"actionKey":' || to_json(p_action_key)::text
    || ',"quantity":' || p_quantity
    || ',"unitPrice":' || v_unit_price
    || ',"creditsCost":' || v_credits
    || ',"createdAt":"' || to_char(p_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    || '","creditsRefunded":0,"reservationId":null,"metadata":' || coalesce(p_metadata, 'null')
    || ',"allocations":['
    || v_allocations
    || ']}';
  -- The claim this call inserted or locked (same request, in progress): complete it.
  UPDATE idempotency_records SET status_code = 200, response_text = v_answer WHERE scope = p_scope AND key = p_key;
  was_replayed := false;
  answer := v_answer;
END;
$$;

-- hold_credits as 20270102000000_claim_races made it, planning with burn_down_plan.
CREATE OR REPLACE FUNCTION hold_credits(
  p_reservation_id uuid,
  p_workflow_id text,
  p_user_id text,
  p_action_key text,
  p_quantity integer,
  p_expires_at timestamptz,
  p_request_hash text,
  p_actor text,
  p_now timestamptz,
  p_balance_low_threshold integer,
  OUT answer text
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_existing_hash text;
  v_unit_price integer;
  v_price_status text;
  v_credits bigint;
  v_available bigint;
  v_grant_ids uuid[] := '{}';
  v_takes integer[] := '{}';
BEGIN
  -- Holds under one reservation id take turns: concurrent retries of one reserve (and the API racing
  -- the run's own activity) wait here for the first hold to commit, then find its row below and answer
  -- it. Without the wait the second read no row, priced and locked the user after the first, and its
  -- INSERT collided with the first's row (a unique violation, answered 500). The two-integer key space
  -- of advisory locks never meets the one-bigint space of the users' locks (credits/locks.ts).
  PERFORM pg_advisory_xact_lock(1, hashtext(p_reservation_id::text));
  SELECT r.request_hash INTO v_existing_hash FROM reservations r WHERE r.id = p_reservation_id;
  IF FOUND THEN
    IF v_existing_hash <> p_request_hash THEN
      RAISE EXCEPTION USING ERRCODE = 'DB409', MESSAGE = 'IDEMPOTENCY_KEY_REUSED';
    END IF;
    answer := reservation_view_json(p_reservation_id)::text;
    RETURN;
  END IF;

  SELECT p.credits_per_unit, p.status::text INTO v_unit_price, v_price_status
  FROM action_prices p WHERE p.action_key = p_action_key;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'DB404', MESSAGE = 'NOT_FOUND';
  END IF;
  IF v_price_status <> 'active' THEN
    RAISE EXCEPTION USING ERRCODE = 'DB422', MESSAGE = 'ACTION_DISABLED';
  END IF;
  v_credits := v_unit_price::bigint * p_quantity;
  IF v_credits > 2147483647 THEN
    RAISE EXCEPTION USING ERRCODE = 'DB400', MESSAGE = 'VALIDATION_FAILED';
  END IF;
  IF v_credits < 0 THEN
    RAISE EXCEPTION 'hold_credits: negative cost % for action %', v_credits, p_action_key;
  END IF;

  -- The user's lock (credits/locks.ts), then the plan (burn_down_plan) from the grants read under it.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_user_id, 0));
  SELECT coalesce(sum(p.available), 0),
         coalesce(array_agg(p.grant_id ORDER BY p.n) FILTER (WHERE p.take > 0), '{}'),
         coalesce(array_agg(p.take ORDER BY p.n) FILTER (WHERE p.take > 0), '{}')
  INTO v_available, v_grant_ids, v_takes
  FROM burn_down_plan(p_user_id, p_now, v_credits) p;
  IF v_available < v_credits THEN
    RAISE EXCEPTION USING ERRCODE = 'DB402', MESSAGE = 'INSUFFICIENT_CREDITS',
      DETAIL = json_build_object('required', v_credits, 'available', v_available)::text;
  END IF;

  INSERT INTO reservations (id, user_id, action_key, quantity, unit_price, credits_held, status, expires_at,
                            workflow_id, request_hash, created_by, consumption_id, settled_at, created_at, updated_at)
  VALUES (p_reservation_id, p_user_id, p_action_key, p_quantity, v_unit_price, v_credits, 'held', p_expires_at,
          p_workflow_id, p_request_hash, p_actor, NULL, NULL, p_now, p_now);
  INSERT INTO reservation_allocations (reservation_id, user_package_id, credits)
  SELECT p_reservation_id, a.grant_id, a.credits FROM unnest(v_grant_ids, v_takes) AS a(grant_id, credits);
  -- credits/ledger.ts, applyMovements with 'reserve' movements: total unchanged, reserved up.
  UPDATE user_packages g SET
    reserved_credits = g.reserved_credits + a.credits,
    status = CASE
      WHEN g.status NOT IN ('active', 'depleted') THEN g.status
      WHEN g.total_credits - g.used_credits - (g.reserved_credits + a.credits) = 0 THEN 'depleted'::"GrantStatus"
      ELSE 'active'::"GrantStatus"
    END,
    updated_at = now()
  FROM unnest(v_grant_ids, v_takes) AS a(grant_id, credits)
  WHERE g.id = a.grant_id AND g.user_id = p_user_id;
  INSERT INTO credit_ledger_entries
    (user_id, user_package_id, entry_type, amount, reserved_delta, used_delta, reference_type, reference_id, idempotency_key, actor)
  SELECT p_user_id, a.grant_id, 'reserve'::"LedgerEntryType", -a.credits, a.credits, 0, 'reservation', p_reservation_id::text, NULL, p_actor
  FROM unnest(v_grant_ids, v_takes) WITH ORDINALITY AS a(grant_id, credits, n)
  ORDER BY a.n;

  PERFORM note_available_credits(p_user_id, p_now, p_balance_low_threshold);

  -- The view from the values in hand (allocations in burn-down order, as holdCredits returned them).
  answer := json_build_object(
    'id', p_reservation_id,
    'userId', p_user_id,
    'actionKey', p_action_key,
    'quantity', p_quantity,
    'unitPrice', v_unit_price,
    'creditsHeld', v_credits,
    'status', 'held',
    'expiresAt', to_char(p_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'consumptionId', NULL,
    'allocations', coalesce((
      SELECT json_agg(json_build_object('grantId', a.grant_id, 'credits', a.credits) ORDER BY a.n)
      FROM unnest(v_grant_ids, v_takes) WITH ORDINALITY AS a(grant_id, credits, n)), '[]'::json),
    'createdAt', to_char(p_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'settledAt', NULL)::text;
END;
$$;

-- commit_reservation as 20270102000000_claim_races made it, drawing with burn_down_plan.
CREATE OR REPLACE FUNCTION commit_reservation(
  p_scope text,
  p_key text,
  p_request_hash text,
  p_actor text,
  p_reservation_id uuid,
  p_quantity integer,
  p_consumption_id uuid,
  p_now timestamptz,
  p_balance_low_threshold integer,
  OUT was_replayed boolean,
  OUT answer text
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_claimed integer;
  v_stored record;
  v_user_id text;
  v_res record;
  v_credits bigint;
  v_drawn bigint;
  v_grant_ids uuid[] := '{}';
  v_committed integer[] := '{}';
  v_released integer[] := '{}';
  v_released_total bigint;
  v_answer text;
BEGIN
  -- The claim, or the record holding the key, locked. A record freed between the two (a refused
  -- request's claim, abandoned) is claimed afresh: work done without holding the key could not stop a
  -- concurrent retry from doing it a second time.
  LOOP
    INSERT INTO idempotency_records (scope, key, request_hash, status_code)
    VALUES (p_scope, p_key, p_request_hash, 0)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS v_claimed = ROW_COUNT;
    EXIT WHEN v_claimed = 1;
    SELECT r.request_hash, r.status_code, r.response_text, r.response_body INTO v_stored
    FROM idempotency_records r WHERE r.scope = p_scope AND r.key = p_key FOR UPDATE;
    IF FOUND THEN
      IF v_stored.request_hash <> p_request_hash THEN
        RAISE EXCEPTION USING ERRCODE = 'DB409', MESSAGE = 'IDEMPOTENCY_KEY_REUSED';
      END IF;
      IF v_stored.status_code <> 0 THEN
        was_replayed := true;
        answer := coalesce(v_stored.response_text, v_stored.response_body::text, 'null');
        RETURN;
      END IF;
      -- A claim in progress for this same request (the API's, before it reached the run): taken over.
      EXIT;
    END IF;
  END LOOP;

  -- lockReservation: whose lock to take, the lock, then the reservation read under it.
  SELECT r.user_id INTO v_user_id FROM reservations r WHERE r.id = p_reservation_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'DB404', MESSAGE = 'NOT_FOUND';
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended(v_user_id, 0));
  SELECT r.id, r.user_id, r.action_key, r.quantity, r.unit_price, r.status::text AS status INTO v_res
  FROM reservations r WHERE r.id = p_reservation_id;
  IF v_res.status <> 'held' THEN
    RAISE EXCEPTION USING ERRCODE = 'DB409', MESSAGE = 'RESERVATION_NOT_HELD',
      DETAIL = json_build_object('status', v_res.status)::text;
  END IF;
  IF p_quantity > v_res.quantity THEN
    RAISE EXCEPTION USING ERRCODE = 'DB422', MESSAGE = 'COMMIT_EXCEEDS_HOLD',
      DETAIL = json_build_object('held', v_res.quantity, 'requested', p_quantity)::text;
  END IF;
  v_credits := v_res.unit_price::bigint * p_quantity;

  -- settleHold (modules/credits/rules/settlement.ts): draw from the held grants in burn-down order (burn_down_plan over
  -- the reservation's allocations); what is not drawn from a grant is released to it.
  SELECT coalesce(array_agg(p.grant_id ORDER BY p.n), '{}'),
         coalesce(array_agg(p.take ORDER BY p.n), '{}'),
         coalesce(array_agg(p.available - p.take ORDER BY p.n), '{}'),
         coalesce(sum(p.available - p.take), 0),
         coalesce(sum(p.take), 0)
  INTO v_grant_ids, v_committed, v_released, v_released_total, v_drawn
  FROM burn_down_plan(v_res.user_id, p_now, v_credits, p_reservation_id) p;
  IF v_drawn < v_credits THEN
    RAISE EXCEPTION 'commit_reservation: cannot draw % credits from reservation %', v_credits, p_reservation_id;
  END IF;

  -- credits/consumptions.ts, recordConsumption (allocations: the grants committed from, in draw order).
  INSERT INTO consumption_records (id, user_id, action_key, quantity, unit_price, credits_cost, metadata, created_at)
  VALUES (p_consumption_id, v_res.user_id, v_res.action_key, p_quantity, v_res.unit_price, v_credits, NULL, p_now);
  INSERT INTO consumption_allocations (consumption_id, user_package_id, credits)
  SELECT p_consumption_id, a.grant_id, a.credits
  FROM unnest(v_grant_ids, v_committed) AS a(grant_id, credits) WHERE a.credits > 0;

  -- credits/ledger.ts, applyMovements: per grant, commit (reserved -> used) and release (reserved -> available).
  UPDATE user_packages g SET
    used_credits = g.used_credits + a.committed,
    reserved_credits = g.reserved_credits - a.committed - a.released,
    status = CASE
      WHEN g.status NOT IN ('active', 'depleted') THEN g.status
      WHEN g.total_credits - (g.used_credits + a.committed) - (g.reserved_credits - a.committed - a.released) = 0
        THEN 'depleted'::"GrantStatus"
      ELSE 'active'::"GrantStatus"
    END,
    updated_at = now()
  FROM unnest(v_grant_ids, v_committed, v_released) AS a(grant_id, committed, released)
  WHERE g.id = a.grant_id AND g.user_id = v_res.user_id;
  INSERT INTO credit_ledger_entries
    (user_id, user_package_id, entry_type, amount, reserved_delta, used_delta, reference_type, reference_id, idempotency_key, actor)
  SELECT v_res.user_id, m.grant_id, m.entry_type::"LedgerEntryType", m.amount, m.reserved_delta, m.used_delta,
         'reservation', p_reservation_id::text, p_key, p_actor
  FROM (
    SELECT a.grant_id, 'commit' AS entry_type, 0 AS amount, -a.committed AS reserved_delta, a.committed AS used_delta, a.n, 0 AS part
    FROM unnest(v_grant_ids, v_committed) WITH ORDINALITY AS a(grant_id, committed, n) WHERE a.committed > 0
    UNION ALL
    SELECT a.grant_id, 'release', a.released, -a.released, 0, a.n, 1
    FROM unnest(v_grant_ids, v_released) WITH ORDINALITY AS a(grant_id, released, n) WHERE a.released > 0
  ) m
  ORDER BY m.n, m.part;

  INSERT INTO events (id, type, user_id, payload)
  VALUES (gen_random_uuid(), 'reservation.committed', v_res.user_id,
          jsonb_build_object('reservationId', p_reservation_id, 'consumptionId', p_consumption_id, 'actionKey', v_res.action_key,
                             'quantity', p_quantity, 'credits', v_credits, 'releasedCredits', v_released_total));
  PERFORM note_available_credits(v_res.user_id, p_now, p_balance_low_threshold);

  UPDATE reservations SET status = 'committed', consumption_id = p_consumption_id, settled_at = p_now, updated_at = p_now
  WHERE id = p_reservation_id;

  -- { reservation: ReservationView, consumption: ConsumptionView } (credits/views.ts key order).
  v_answer := json_build_object(
    'reservation', reservation_view_json(p_reservation_id),
    'consumption', json_build_object(
      'id', p_consumption_id,
      'userId', v_res.user_id,
      'actionKey', v_res.action_key,
      'quantity', p_quantity,
      'unitPrice', v_res.unit_price,
      'creditsCost', v_credits,
      'createdAt', to_char(p_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'creditsRefunded', 0,
      'reservationId', p_reservation_id,
      'metadata', NULL,
      'allocations', coalesce((
        SELECT json_agg(json_build_object('grantId', a.grant_id, 'credits', a.credits) ORDER BY a.n)
        FROM unnest(v_grant_ids, v_committed) WITH ORDINALITY AS a(grant_id, credits, n) WHERE a.credits > 0), '[]'::json)))::text;
  -- The claim this call inserted or locked: complete it.
  UPDATE idempotency_records SET status_code = 200, response_text = v_answer WHERE scope = p_scope AND key = p_key;
  was_replayed := false;
  answer := v_answer;
END;
$$;
