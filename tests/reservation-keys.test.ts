/**
 * Two requests with different Idempotency-Keys are two requests, on every settling call of a
 * reservation, even with the same body: a second commit or release is refused (the reservation is no
 * longer held), a second refund is a new refund (or refused when nothing is left to refund). The same
 * key with the same body replays the first answer byte for byte.
 *
 * Through the real stack (API, worker, Temporal dev server, PostgreSQL). The random sequences of the
 * same calls are in tests/reservation-keys-model.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { balances, expectLedgerInvariant, grantCredits, newUserId, startStack, type TestStack } from './support/stack';
import { postExact } from './support/exact-calls';
import { waitFor } from './support/wait';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

/** A user with `credits` and a reservation of `quantity` ai_chat (1 credit a unit) held for them. */
async function heldReservation(credits: number, quantity: number) {
  const userId = newUserId();
  await grantCredits(stack.db, userId, credits);
  const held = await postExact(stack, '/v1/internal/reservations', { userId, actionKey: 'ai_chat', quantity }, randomUUID());
  expect(held.status).toBe(201);
  return { userId, reservationId: held.body.id as string };
}

const settle = (reservationId: string, step: 'commit' | 'release' | 'extend' | 'refund', body: unknown, key: string) =>
  postExact(stack, `/v1/internal/reservations/${reservationId}/${step}`, body, key);

async function available(userId: string): Promise<number> {
  return (await balances(stack.db, userId)).reduce((sum, grant) => sum + grant.available, 0);
}

describe('two keys are two requests', () => {
  it('two refunds of 2 credits under two keys, one after the other, are two refunds; each key replays its own', async () => {
    const { userId, reservationId } = await heldReservation(10, 5);
    expect((await settle(reservationId, 'commit', {}, randomUUID())).status).toBe(200);
    expect(await available(userId)).toBe(5);

    const body = { credits: 2, reason: 'the action failed' };
    const first = await settle(reservationId, 'refund', body, 'refund-a');
    const second = await settle(reservationId, 'refund', body, 'refund-b');
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.id).not.toBe(first.body.id);
    expect([first.body.consumptionCreditsRefunded, second.body.consumptionCreditsRefunded]).toEqual([2, 4]);
    expect(await available(userId)).toBe(9);

    // Each key replays its own first answer, byte for byte, and refunds nothing more.
    expect(await settle(reservationId, 'refund', body, 'refund-a')).toEqual(first);
    expect(await settle(reservationId, 'refund', body, 'refund-b')).toEqual(second);
    expect(await available(userId)).toBe(9);
    // A third key finds 1 credit left: 2 is more than that.
    const third = await settle(reservationId, 'refund', body, 'refund-c');
    expect(third.status).toBe(409);
    expect(third.body.error).toMatchObject({ code: 'REFUND_EXCEEDS_CONSUMPTION', details: { refundable: 1, requested: 2 } });
    await expectLedgerInvariant(stack.db, userId);
  });

  it('a second commit under another key is refused with 409 RESERVATION_NOT_HELD; the first key replays', async () => {
    const { userId, reservationId } = await heldReservation(10, 5);
    const first = await settle(reservationId, 'commit', { quantity: 3 }, 'commit-a');
    expect(first.status).toBe(200);
    const second = await settle(reservationId, 'commit', { quantity: 3 }, 'commit-b');
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: 'RESERVATION_NOT_HELD', details: { status: 'committed' } });
    expect(await settle(reservationId, 'commit', { quantity: 3 }, 'commit-a')).toEqual(first);
    expect(await available(userId)).toBe(7);
    expect(await stack.db.consumptionRecord.count({ where: { userId } })).toBe(1);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('a second release under another key is refused with 409 RESERVATION_NOT_HELD; the first key replays', async () => {
    const { userId, reservationId } = await heldReservation(10, 5);
    const first = await settle(reservationId, 'release', {}, 'release-a');
    expect(first.status).toBe(200);
    const second = await settle(reservationId, 'release', {}, 'release-b');
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: 'RESERVATION_NOT_HELD', details: { status: 'released' } });
    expect(await settle(reservationId, 'release', {}, 'release-a')).toEqual(first);
    expect(await available(userId)).toBe(10);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('a second extend under another key moves the deadline again', async () => {
    const { reservationId } = await heldReservation(10, 5);
    const first = await settle(reservationId, 'extend', { holdSeconds: 600 }, 'extend-a');
    const second = await settle(reservationId, 'extend', { holdSeconds: 600 }, 'extend-b');
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(Date.parse(second.body.expiresAt)).toBeGreaterThan(Date.parse(first.body.expiresAt));
    expect(await settle(reservationId, 'extend', { holdSeconds: 600 }, 'extend-a')).toEqual(first);
  });

  it('8 full refunds sent at once under 8 keys: exactly one refunds, the others are refused', async () => {
    const { userId, reservationId } = await heldReservation(10, 5);
    expect((await settle(reservationId, 'commit', {}, randomUUID())).status).toBe(200);
    const keys = Array.from({ length: 8 }, (_, n) => `full-refund-${n}`);
    const answers = await Promise.all(keys.map((key) => settle(reservationId, 'refund', { reason: 'the action failed' }, key)));

    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    const refunded = answers.find((a) => a.status === 201)!;
    expect(refunded.body).toMatchObject({ credits: 5, consumptionCreditsRefunded: 5 });
    for (const refused of answers.filter((a) => a.status === 409)) {
      expect(refused.body.error).toMatchObject({ code: 'REFUND_EXCEEDS_CONSUMPTION', details: { refundable: 0 } });
    }
    expect(await available(userId)).toBe(10);
    expect(await stack.db.consumptionRefund.count({ where: { consumption: { userId } } })).toBe(1);
    // The key that refunded replays its answer; a refused key was freed and is judged afresh (still nothing left).
    const winner = keys[answers.indexOf(refunded)]!;
    expect(await settle(reservationId, 'refund', { reason: 'the action failed' }, winner)).toEqual(refunded);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('4 releases sent at once under 4 keys: exactly one releases, the others are refused', async () => {
    const { userId, reservationId } = await heldReservation(10, 5);
    const answers = await Promise.all(Array.from({ length: 4 }, (_, n) => settle(reservationId, 'release', {}, `release-${n}`)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409, 409]);
    for (const refused of answers.filter((a) => a.status === 409)) {
      expect(refused.body.error).toMatchObject({ code: 'RESERVATION_NOT_HELD', details: { status: 'released' } });
    }
    expect(await available(userId)).toBe(10);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('commits and releases sent at once under different keys: exactly one settles the reservation', async () => {
    const { userId, reservationId } = await heldReservation(10, 5);
    const calls = [
      ...Array.from({ length: 3 }, (_, n) => settle(reservationId, 'commit', { quantity: 2 }, `race-commit-${n}`)),
      ...Array.from({ length: 3 }, (_, n) => settle(reservationId, 'release', {}, `race-release-${n}`)),
    ];
    const answers = await Promise.all(calls);
    const won = answers.filter((a) => a.status === 200);
    expect(won).toHaveLength(1);
    for (const lost of answers.filter((a) => a.status !== 200)) {
      expect(lost.status).toBe(409);
      expect(lost.body.error.code).toBe('RESERVATION_NOT_HELD');
    }
    const committed = 'consumption' in won[0]!.body;
    expect(await available(userId)).toBe(committed ? 8 : 10);
    expect(await stack.db.consumptionRecord.count({ where: { userId } })).toBe(committed ? 1 : 0);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('an extend that waited behind a commit under another key is refused, not answered 200 with the committed reservation', async () => {
    const { userId, reservationId } = await heldReservation(10, 5);
    // No worker: the commit and the extends wait at the server and reach the run in one workflow task,
    // all validated while it is still held; the commit (sent first) takes the lock first.
    await stack.stopWorker();
    const claimed = (keys: string[]) => () =>
      waitFor(async () => (await stack.db.idempotencyRecord.count({ where: { key: { in: keys } } })) === keys.length, 30_000, `claims of ${keys.join(', ')}`);
    let answers: Array<Awaited<ReturnType<typeof settle>>>;
    try {
      const commit = settle(reservationId, 'commit', {}, 'queued-commit');
      await claimed(['queued-commit'])();
      const extendKeys = ['queued-extend-0', 'queued-extend-1', 'queued-extend-2'];
      const extends_ = extendKeys.map((key) => settle(reservationId, 'extend', { holdSeconds: 600 }, key));
      await claimed(extendKeys)();
      await stack.startWorker();
      answers = await Promise.all([commit, ...extends_]);
    } finally {
      if (!stack.worker) await stack.startWorker();
    }
    expect(answers[0]!.status).toBe(200);
    for (const extend of answers.slice(1)) {
      expect({ status: extend.status, code: extend.body.error?.code }).toEqual({ status: 409, code: 'RESERVATION_NOT_HELD' });
      expect(extend.body.error.details).toMatchObject({ status: 'committed' });
    }
    expect(await available(userId)).toBe(5);
    await expectLedgerInvariant(stack.db, userId);
  });
});

describe('a replay says it is one', () => {
  it('reserve, extend, commit, refund and release answer Idempotent-Replayed: true on a retry, and only then', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 20);
    const replayedHeader = (answer: { headers: Headers }) => answer.headers.get('idempotent-replayed');
    const twice = async (path: string, body: unknown) => {
      const key = randomUUID();
      const first = await stack.call('POST', path, { body, idempotencyKey: key });
      const again = await stack.call('POST', path, { body, idempotencyKey: key });
      expect(first.status).toBeLessThan(300);
      expect(again.status).toBe(first.status);
      expect(again.body).toEqual(first.body);
      expect(replayedHeader(first)).toBeNull();
      expect(replayedHeader(again)).toBe('true');
      return first.body;
    };
    const held = await twice('/v1/internal/reservations', { userId, actionKey: 'ai_chat', quantity: 5 });
    await twice(`/v1/internal/reservations/${held.id}/extend`, { holdSeconds: 600 });
    await twice(`/v1/internal/reservations/${held.id}/commit`, { quantity: 4 });
    await twice(`/v1/internal/reservations/${held.id}/refund`, { credits: 1, reason: 'partly failed' });

    const other = await twice('/v1/internal/reservations', { userId, actionKey: 'ai_chat', quantity: 2 });
    await twice(`/v1/internal/reservations/${other.id}/release`, {});
    expect(await available(userId)).toBe(17);
  });
});
