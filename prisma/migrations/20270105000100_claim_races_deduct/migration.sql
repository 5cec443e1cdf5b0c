-- deduct_credits as 20270105000000_balance_low_falls made it, with the idempotency claim taken in a loop
-- (as 20270102000000_claim_races does for commit_reservation). Before, a record freed between the claim's
-- INSERT and its lock (a refused request's claim, abandoned: idempotency/store.ts, abandonClaim) let the
-- deduct go on WITHOUT holding the key, and a concurrent retry could then claim it and deduct a second
-- time (or deadlock with it). Everything else is unchanged. Ordered after balance_low_falls, which
-- replaced the whole function (tests/claim-races.test.ts, "a claim freed between its INSERT and its lock").

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
  v_available bigint := 0;
  v_remaining bigint;
  v_grant record;
  v_take integer;
  v_grant_ids uuid[] := '{}';
  v_takes integer[] := '{}';
  v_answer text;
  -- The answer's allocations, as JSON members, written while the plan is made.
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

  -- 3. The user's lock (credits/locks.ts), then 4. the grants read under it, in burn-down order.
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
      v_allocations := v_allocations || CASE WHEN v_allocations = '' THEN '' ELSE ',' END
        || '{"grantId":"' || v_grant.id::text || '","credits":' || v_take || '}';
      v_remaining := v_remaining - v_take;
    END IF;
  END LOOP;
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
