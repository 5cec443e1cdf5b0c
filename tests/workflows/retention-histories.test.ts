/**
 * Retention runs recorded under earlier workflow code must replay under the current code: a run under way
 * at a deploy continues under the new code.
 *
 * histories/f9ab6b2-retention/: a run recorded on the Temporal dev server with the real activities
 * (RECORD_RETENTION_HISTORY=tests/workflows/histories/f9ab6b2-retention npx jest tests/retention.test.ts):
 * maintainEventPartitions, then pruneIdempotencyKeys.
 */
import path from 'node:path';
import type { temporal } from '@temporalio/proto';
import { allReplayed, recordedHistories, replayAll } from '../support/replay';

it('replays the retention run recorded with its two activities', async () => {
  const histories = recordedHistories(path.join(__dirname, 'histories', 'f9ab6b2-retention'));
  expect(histories.length).toBe(1);
  const scheduled = histories.flatMap(({ history }) => ((history as temporal.api.history.v1.IHistory).events ?? []).filter((event) => event.activityTaskScheduledEventAttributes));
  expect(scheduled.map((event) => event.activityTaskScheduledEventAttributes!.activityType!.name)).toEqual(['maintainEventPartitions', 'pruneIdempotencyKeys']);
  expect(await replayAll(histories)).toEqual(allReplayed(histories));
});
