/**
 * Refill runs recorded under earlier workflow code must replay under the current code: a refill waiting
 * on a dunning timer at a deploy continues under the new code and must not fail on its old steps.
 *
 * histories/a7089ee-top-up-refill/: runs recorded on the time-skipping test server at commit a7089ee
 * (tests/workflows/top-up-refill.test.ts with RECORD_HISTORIES), before a `requires_action` answer paused
 * the refill: a `requires_action` answer dunned like a decline until the last refusal gave up, an approval
 * on the first retry, a capped month and a paused rule.
 */
import path from 'node:path';
import type { temporal } from '@temporalio/proto';
import { allReplayed, recordedHistories, replayAll } from '../support/replay';

it('replays every refill run recorded before requires_action paused the refill (a7089ee)', async () => {
  const histories = recordedHistories(path.join(__dirname, 'histories', 'a7089ee-top-up-refill'));
  expect(histories.length).toBe(4);
  expect(await replayAll(histories)).toEqual(allReplayed(histories));
});

/**
 * histories/e7d6d34-top-up-refill/: the same kinds of runs recorded at e7d6d34 (patch
 * `top-up-refill-settles`): dunning that gives up, a requires_action answer completed by the customer
 * and one abandoned, an order refused for want of a saved method, an approval on the first retry, a
 * capped month and a paused rule.
 */
it('replays the refill runs recorded with the settling steps (e7d6d34: patch top-up-refill-settles)', async () => {
  const histories = recordedHistories(path.join(__dirname, 'histories', 'e7d6d34-top-up-refill'));
  expect(histories.length).toBe(7);
  const signals = histories.flatMap(({ history }) => ((history as temporal.api.history.v1.IHistory).events ?? []).filter((event) => event.workflowExecutionSignaledEventAttributes));
  expect(signals).toHaveLength(1); // the customer's confirmation of the completed payment
  expect(await replayAll(histories)).toEqual(allReplayed(histories));
});
