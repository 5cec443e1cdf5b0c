/**
 * Reservation runs recorded before Temporal Update ids were derived from the caller's key must keep
 * replaying under the current workflow code (a deploy must not break a run mid-flight).
 *
 * histories/50c2da5-reservations/: runs recorded on the dev server through the HTTP API at 50c2da5, when
 * the update id came from the request's fingerprint alone (so a second request with another key and the
 * same body was answered with the first one's result and never reached the run):
 * - held-extended-twice-committed-twice-refunded: extended under two keys (one update in history),
 *   committed 4 of 5 under two keys (one update), refunded 1 credit under two keys (one update), the
 *   first refund retried, the rest refunded; the run then completed.
 * - held-extended-committed-refunded-open: extended, committed, refunded 1 credit under two keys (one
 *   update); still open in its refund window when recorded.
 *
 * histories/552c954-reservations/: recorded at 552c954 (update ids per key, and the patch
 * `extend-after-settlement-refused`): extended under two keys (two updates); then, with the worker
 * stopped, a commit and an extend under another key queued so both were validated while held and the
 * extend's turn came after the commit (refused with RESERVATION_NOT_HELD, its patch marker recorded); a
 * second commit under another key refused; 2 + 2 credits refunded under two keys; the run completed.
 */
import path from 'node:path';
import { allReplayed, recordedHistories, replayAll } from '../support/replay';

it('replays reservation runs recorded when update ids came from the request fingerprint alone', async () => {
  const histories = recordedHistories(path.join(__dirname, 'histories', '50c2da5-reservations'));
  expect(histories.length).toBe(2);
  expect(await replayAll(histories)).toEqual(allReplayed(histories));
});

it('replays a run that refused an extend whose turn came after the commit (patched)', async () => {
  const histories = recordedHistories(path.join(__dirname, 'histories', '552c954-reservations'));
  expect(histories.length).toBe(1);
  expect(await replayAll(histories)).toEqual(allReplayed(histories));
});
