/**
 * Notification runs recorded under earlier workflow code must replay under the current code: a run
 * still retrying its mail at a deploy continues under the new code and must not fail on its old steps.
 *
 * histories/afe628c-notifications/: notification runs recorded on the Temporal dev server at commit
 * afe628c, when both steps were (remote) activities, with the real event activities and an SMTP sink:
 * a `balance.low` notice emailed, one skipped because the user opted out of that type, and one for a
 * user without an address.
 *
 * histories/f4c45e7-notifications/: the same three cases recorded at f4c45e7, with both steps as local
 * activities (patch `notification-local-steps`): one workflow task per run.
 */
import path from 'node:path';
import type { temporal } from '@temporalio/proto';
import { allReplayed, recordedHistories, replayAll } from '../support/replay';

it('replays every notification run recorded under the remote-activity workflow code (afe628c)', async () => {
  const histories = recordedHistories(path.join(__dirname, 'histories', 'afe628c-notifications'));
  expect(histories.length).toBe(3);
  const activityTasks = histories.flatMap(({ history }) => ((history as temporal.api.history.v1.IHistory).events ?? []).filter((event) => event.activityTaskScheduledEventAttributes));
  expect(activityTasks).toHaveLength(6); // the old shape: two remote activities per run
  expect(await replayAll(histories)).toEqual(allReplayed(histories));
});

it('replays the notification runs recorded with local-activity steps (f4c45e7: patch notification-local-steps)', async () => {
  const histories = recordedHistories(path.join(__dirname, 'histories', 'f4c45e7-notifications'));
  expect(histories.length).toBe(3);
  const events = histories.flatMap(({ history }) => (history as temporal.api.history.v1.IHistory).events ?? []);
  expect(events.filter((event) => event.activityTaskScheduledEventAttributes)).toHaveLength(0);
  expect(events.filter((event) => event.workflowTaskCompletedEventAttributes)).toHaveLength(3); // one workflow task per run
  expect(await replayAll(histories)).toEqual(allReplayed(histories));
});
