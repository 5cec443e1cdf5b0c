/**
 * Interval launcher runs (workflow `topUpIntervalWorkflow`, started by a top-up rule's Schedule) recorded
 * under earlier workflow code must replay under the current code.
 *
 * histories/346eab8-top-up-interval/: runs recorded on the dev server at commit 346eab8 (tests/top-up-interval.test.ts
 * with RECORD_HISTORIES): a run that claimed and started the month's refill, and one that found its rule
 * paused and started nothing.
 */
import path from 'node:path';
import { allReplayed, recordedHistories, replayAll } from '../support/replay';

it('replays the interval launcher runs recorded at 346eab8', async () => {
  const histories = recordedHistories(path.join(__dirname, 'histories', '346eab8-top-up-interval'));
  expect(histories.length).toBe(2);
  expect(await replayAll(histories)).toEqual(allReplayed(histories));
});
