-- Group commit for deducts (issue 13, target 2): many concurrent deducts in one statement and one
-- transaction, so they share one round trip, one commit and one WAL flush (credits/deduct-batch.ts).
-- Each item is exactly one deduct_credits call (the rules live there only), inside its own
-- BEGIN ... EXCEPTION block: a subtransaction, so an item refused with a business code (SQLSTATE class
-- DB, e.g. INSUFFICIENT_CREDITS) leaves no rows behind — its claim included — while the items before
-- and after it commit. Any other error aborts the whole batch, and the caller runs the items one by one
-- (each is idempotent under its key, so nothing is applied twice).
-- Items run in array order: the caller sorts them by user (stably, so one user's deducts keep their
-- arrival order), and concurrent batches then take the per-user advisory locks in one global order.
-- Keep batches under 64 items: more subtransactions than that per transaction overflow PostgreSQL's
-- per-backend subtransaction cache and slow every snapshot.
CREATE FUNCTION deduct_credits_batch(
  p_scopes text[],
  p_keys text[],
  p_request_hashes text[],
  p_actors text[],
  p_user_ids text[],
  p_action_keys text[],
  p_quantities integer[],
  p_metadata text[],
  p_consumption_ids uuid[],
  p_nows timestamptz[],
  p_balance_low_threshold integer
) RETURNS TABLE (
  item integer,
  was_replayed boolean,
  answer text,
  refusal_code text,
  refusal_message text,
  refusal_detail text
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_state text;
  v_message text;
  v_detail text;
BEGIN
  FOR i IN 1 .. coalesce(array_length(p_user_ids, 1), 0) LOOP
    item := i;
    refusal_code := NULL;
    refusal_message := NULL;
    refusal_detail := NULL;
    BEGIN
      SELECT d.was_replayed, d.answer INTO was_replayed, answer
      FROM deduct_credits(p_scopes[i], p_keys[i], p_request_hashes[i], p_actors[i], p_user_ids[i], p_action_keys[i],
                          p_quantities[i], p_metadata[i], p_consumption_ids[i], p_nows[i], p_balance_low_threshold) d;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
      IF left(v_state, 2) <> 'DB' THEN
        RAISE;
      END IF;
      was_replayed := NULL;
      answer := NULL;
      refusal_code := v_state;
      refusal_message := v_message;
      refusal_detail := nullif(v_detail, '');
    END;
    RETURN NEXT;
  END LOOP;
END;
$$;
