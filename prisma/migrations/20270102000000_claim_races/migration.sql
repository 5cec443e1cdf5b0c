-- Concurrent retries of one request never collide: the loser waits for the winner and answers what it
-- answered (tests/claim-races.test.ts).
--
-- hold_credits: holds under one reservation id now take turns on a lock of that id before looking for
-- the reservation. Before, concurrent retries of one reserve all found no row, priced and locked the
-- user one after another, and every one but the first failed its INSERT on reservations_pkey (a 500).
--
-- commit_reservation: the idempotency claim is taken, or the record holding the key locked, in a loop.
-- Before, a record freed between the claim's INSERT and the lock (a refused request's claim, abandoned:
-- idempotency/store.ts, abandonClaim) let the call go on WITHOUT holding the key, and a concurrent retry
-- could then claim it and do the same work again (or deadlock with it). Everything else is unchanged.
-- (deduct_credits gets the same loop in 20270105000100_claim_races_deduct, after the migration that
-- last replaced it.)

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
  v_available bigint := 0;
  v_remaining bigint;
  v_grant record;
  v_take integer;
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

  PERFORM pg_advisory_xact_lock(hashtextextended(p_user_id, 0));
  v_remaining := v_credits;
  FOR v_grant IN
    SELECT g.id, g.total_credits - g.used_credits - g.reserved_credits AS available
    FROM user_packages g
    WHERE g.user_id = p_user_id AND g.status = 'active' AND g.starts_at <= p_now
      AND (g.expires_at IS NULL OR g.expires_at > p_now)
      AND g.total_credits - g.used_credits - g.reserved_credits > 0
    ORDER BY g.priority ASC, g.expires_at ASC NULLS LAST, g.created_at ASC, g.id ASC
  LOOP
    v_available := v_available + v_grant.available;
    IF v_remaining > 0 THEN
      v_take := least(v_remaining, v_grant.available);
      v_grant_ids := v_grant_ids || v_grant.id;
      v_takes := v_takes || v_take;
      v_remaining := v_remaining - v_take;
    END IF;
  END LOOP;
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
  v_remaining bigint;
  v_alloc record;
  v_take integer;
  v_grant_ids uuid[] := '{}';
  v_committed integer[] := '{}';
  v_released integer[] := '{}';
  v_released_total bigint := 0;
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

  -- domain/settlement.ts, settleHold: draw from the held grants in burn-down order.
  v_remaining := v_credits;
  FOR v_alloc IN
    SELECT a.user_package_id AS grant_id, a.credits
    FROM reservation_allocations a JOIN user_packages g ON g.id = a.user_package_id
    WHERE a.reservation_id = p_reservation_id
    ORDER BY g.priority ASC, g.expires_at ASC NULLS LAST, g.created_at ASC, g.id ASC
  LOOP
    v_take := least(v_remaining, v_alloc.credits);
    v_grant_ids := v_grant_ids || v_alloc.grant_id;
    v_committed := v_committed || v_take;
    v_released := v_released || (v_alloc.credits - v_take);
    v_released_total := v_released_total + (v_alloc.credits - v_take);
    v_remaining := v_remaining - v_take;
  END LOOP;
  IF v_remaining > 0 THEN
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
