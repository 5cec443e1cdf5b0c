/**
 * Package timers that started under earlier workflow code must replay under the current code, or a
 * deploy stalls each of them with a nondeterminism error when its timer fires.
 *
 * histories/d1e9efa/: package lifecycle runs recorded on the time-skipping test server from the workflow
 * as of commit d1e9efa (every step an activity, before LOCAL_STEPS_PATCH), with the real lifecycle
 * activities: reminded at 7 and 1 days then expired; pending, activated, then expired; extended while
 * waiting, then expired; and one still waiting for its first reminder (a run in flight at a deploy,
 * which then continues under the new code and must not fail on its old steps).
 *
 * histories/afe628c-lifecycle/: a package timer (reminded at 7 and 1 days, then expired) and a
 * subscription timer (reminded, then lapsed) recorded on the time-skipping test server at commit
 * afe628c, when a timer was started without its subject's snapshot and read it first (a local
 * activity) and published its search attributes in its first workflow task.
 *
 * histories/0a33aa0-lifecycle/: the same two cases recorded at 0a33aa0, started with their subject's
 * snapshot in the input (no read, no patch markers and no publish in the first workflow task).
 */
import path from 'node:path';
import { allReplayed, recordedHistories, replayAll } from '../support/replay';

it('replays every package timer recorded under the previous workflow code', async () => {
  const recorded = path.join(__dirname, 'histories', 'd1e9efa');
  const histories = recordedHistories(recorded);
  expect(histories.length).toBeGreaterThanOrEqual(4);
  expect(await replayAll(histories)).toEqual(allReplayed(histories));
});

it('replays the timers recorded before they were started with their snapshot (afe628c: first read in the run)', async () => {
  const histories = recordedHistories(path.join(__dirname, 'histories', 'afe628c-lifecycle'));
  expect(histories.length).toBe(2);
  expect(await replayAll(histories)).toEqual(allReplayed(histories));
});

it('replays the timers recorded when started with their snapshot (0a33aa0)', async () => {
  const histories = recordedHistories(path.join(__dirname, 'histories', '0a33aa0-lifecycle'));
  expect(histories.length).toBe(2);
  expect(await replayAll(histories)).toEqual(allReplayed(histories));
});
