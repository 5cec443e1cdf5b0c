/**
 * Order runs recorded under earlier workflow code must replay under the current code, or a deploy
 * breaks them mid-flight (a nondeterminism error stalls each such run). Replay needs no server.
 *
 * histories/8c13cd7-orders/: order and order-refund runs recorded on the Temporal dev server by
 * tests/orders.test.ts and tests/orders-gateway-expiry.test.ts at commit 8c13cd7, when every order step
 * was a (remote) activity and the status search attribute was upserted at each change: paid by Stripe
 * and provisioned; a second payment recorded after completion; a renewal; expired; async payment
 * failed; cancelled; the saga (package withdrawn: revoke, refund, failed) twice; still waiting for
 * payment; runs cut off mid-task when the suite ended (an expired order, then its late payment's run);
 * an admin refund.
 *
 * histories/50c2da5-orders-local/: runs recorded with the steps as local activities (patch
 * order-local-steps) before a refused payment was closed as refunded: the saga for a package withdrawn
 * before an on-time payment (revoke, refund, failed), and two late payments after expiry (one
 * provisioned, one refused and refunded, ending failed).
 *
 * histories/2539de2-orders-refused/: runs recorded after patch order-refused-payment-refunded: a payment
 * refused at provisioning (the permanent package was given meanwhile) and a late payment refused the
 * same way, each refunded and closed by close_refunded.
 */
import path from 'node:path';
import { allReplayed, recordedHistories, replayAll } from '../support/replay';

describe('order workflow determinism across versions', () => {
  it('replays every order run recorded under the remote-activity workflow code (8c13cd7)', async () => {
    const recorded = path.join(__dirname, 'histories', '8c13cd7-orders');
    const histories = recordedHistories(recorded);
    expect(histories.length).toBeGreaterThanOrEqual(12);
    expect(await replayAll(histories)).toEqual(allReplayed(histories));
  });

  it('replays the order runs recorded with local-activity steps, compensation ending failed (50c2da5)', async () => {
    const histories = recordedHistories(path.join(__dirname, 'histories', '50c2da5-orders-local'));
    expect(histories.length).toBe(3);
    expect(await replayAll(histories)).toEqual(allReplayed(histories));
  });

  it('replays the order runs recorded with a refused payment closed refunded (2539de2: patch order-refused-payment-refunded)', async () => {
    const histories = recordedHistories(path.join(__dirname, 'histories', '2539de2-orders-refused'));
    expect(histories.length).toBe(2);
    expect(await replayAll(histories)).toEqual(allReplayed(histories));
  });
});
