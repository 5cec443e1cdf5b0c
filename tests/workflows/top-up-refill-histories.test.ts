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
import { allReplayed, recordedHistories, replayAll } from '../support/replay';

it('replays every refill run recorded before requires_action paused the refill (a7089ee)', async () => {
  const histories = recordedHistories(path.join(__dirname, 'histories', 'a7089ee-top-up-refill'));
  expect(histories.length).toBe(4);
  expect(await replayAll(histories)).toEqual(allReplayed(histories));
});
