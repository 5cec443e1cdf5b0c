/**
 * Concurrent retries never answer 500. For every endpoint that creates something: 16 identical requests
 * fired at once under ONE Idempotency-Key all get the first answer (same status, same body, one
 * effect), and, where the thing has a unique name, 16 requests under 16 keys creating that same name
 * get one 2xx and 409 ALREADY_EXISTS for the rest. The losers of a race wait for the winner's answer
 * (or its unique row) instead of colliding with it.
 */
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { DEDUCT_STATEMENT, deductArguments, type DeductRow } from '../modules/credits/spend';
import { runIdempotent, type Idempotency } from '../platform/idempotency/store';
import { createDatabase, isUniqueViolation, sqlPool } from '../platform/database';
import { runConsumptionRollup } from '../modules/lifecycle/jobs';
import { startGatewaySimulator, type GatewaySimulator } from '../scripts/services/gateway-simulator';
import { createPackage, expectStatus, packageFields, uniqueKey } from './support/fixtures';
import { couponCode, manualChannel } from './support/commerce';
import { createGatewayChannel, waitForOrder } from './support/orders';
import { balances, expectLedgerInvariant, grantCredits, newUserId, startStack, type ApiResponse, type TestStack } from './support/stack';
import { waitFor } from './support/wait';

const CONCURRENT = 16;
/** The reserve race was lost about once in two runs of one burst: a few bursts hit it reliably. */
const RESERVE_BURSTS = 6;

let stack: TestStack;
let simulator: GatewaySimulator;
const gatewayChannel = `race-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  stack = await startStack();
  simulator = await startGatewaySimulator({ merchantId: 'race-merchant', secret: 'race-gateway-secret-0123456789' });
  await createGatewayChannel(stack, { code: gatewayChannel, name: 'Race gateway', gatewayUrl: simulator.url, merchantId: 'race-merchant', secret: 'race-gateway-secret-0123456789' });
});
afterAll(async () => {
  await simulator?.close();
  await stack?.close();
});

type Send = (key: string) => Promise<ApiResponse>;

/** The same request CONCURRENT times at once under one key. */
function burstWithOneKey(send: Send, key = randomUUID()): Promise<ApiResponse[]> {
  return Promise.all(Array.from({ length: CONCURRENT }, () => send(key)));
}

/** The same request CONCURRENT times at once, each under its own key. */
function burstWithManyKeys(send: Send): Promise<ApiResponse[]> {
  return Promise.all(Array.from({ length: CONCURRENT }, () => send(randomUUID())));
}

const summary = (answers: ApiResponse[]) => answers.map((a) => `${a.status} ${a.status >= 300 ? JSON.stringify(a.body) : ''}`.trim());

/** Every answer is `status` with one and the same body; that body. */
function expectOneAnswer(answers: ApiResponse[], status: number) {
  expect(summary(answers).filter((line) => !line.startsWith(String(status)))).toEqual([]);
  expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1);
  return answers[0]!.body;
}

/** One answer is `status`, every other one 409 with `code`; the winner's body. */
function expectOneWinner(answers: ApiResponse[], status: number, code = 'ALREADY_EXISTS') {
  const winners = answers.filter((a) => a.status === status);
  const losers = answers.filter((a) => a.status !== status);
  expect(summary(losers).filter((line) => !line.startsWith('409'))).toEqual([]);
  expect(winners).toHaveLength(1);
  for (const loser of losers) expect(loser.body.error.code).toBe(code);
  return winners[0]!.body;
}

describe('16 concurrent retries under one key answer the first answer, once', () => {
  it('reserve: one hold, the same reservation for every retry', async () => {
    for (let burst = 0; burst < RESERVE_BURSTS; burst++) {
      const userId = newUserId('race-reserve');
      await grantCredits(stack.db, userId, 100);
      const body = { userId, actionKey: 'ai_chat', quantity: 3 };
      const held = expectOneAnswer(await burstWithOneKey((key) => stack.call('POST', '/v1/internal/reservations', { body, idempotencyKey: key })), 201);
      expect(held).toMatchObject({ userId, status: 'held', creditsHeld: 3 });
      expect(await stack.db.reservation.count({ where: { userId } })).toBe(1);
      expect(await stack.db.creditLedgerEntry.count({ where: { userId, entryType: 'reserve' } })).toBe(1);
      expect((await balances(stack.db, userId))[0]).toMatchObject({ reserved: 3, available: 97 });
      await expectLedgerInvariant(stack.db, userId);
    }
  });

  it('deduct (group commit on): one consumption, one ledger entry', async () => {
    for (let burst = 0; burst < 3; burst++) {
      const userId = newUserId('race-deduct');
      await grantCredits(stack.db, userId, 100);
      const body = { userId, actionKey: 'ai_chat', quantity: 2 };
      const spent = expectOneAnswer(await burstWithOneKey((key) => stack.call('POST', '/v1/internal/credits/deduct', { body, idempotencyKey: key })), 201);
      expect(spent).toMatchObject({ userId, creditsCost: 2 });
      expect(await stack.db.consumptionRecord.count({ where: { userId } })).toBe(1);
      expect(await stack.db.creditLedgerEntry.count({ where: { userId, entryType: 'deduct' } })).toBe(1);
      await expectLedgerInvariant(stack.db, userId);
    }
  });

  it('grant: one grant of the package', async () => {
    const userId = newUserId('race-grant');
    const grant = expectOneAnswer(
      await burstWithOneKey((key) =>
        stack.call('POST', `/v1/admin/users/${userId}/packages`, { as: 'admin', body: { packageCode: 'new_user_trial', source: 'gift' }, idempotencyKey: key }),
      ),
      201,
    );
    expect(await stack.db.userPackage.findMany({ where: { userId }, select: { id: true } })).toEqual([{ id: grant.id }]);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('order: one order, and other keys for the same purchase find that same unpaid order', async () => {
    const channel = await manualChannel(stack, ['USD']);
    const pkg = await createPackage(stack, { priceMinor: 1500, currency: 'USD' });
    const userId = newUserId('race-order');
    const body = { packageCode: pkg.code, channel };
    const placed = expectOneAnswer(await burstWithOneKey((key) => stack.call('POST', '/v1/me/orders', { as: { user: userId }, body, idempotencyKey: key })), 201);
    const again = await burstWithManyKeys((key) => stack.call('POST', '/v1/me/orders', { as: { user: userId }, body, idempotencyKey: key }));
    expect(expectOneAnswer(again, 201).id).toBe(placed.id);
    expect(await stack.db.order.count({ where: { userId } })).toBe(1);
  });

  it('mark paid: one payment, and the first answer for every retry, also after the order moved on', async () => {
    const channel = await manualChannel(stack, ['USD']);
    const pkg = await createPackage(stack, { priceMinor: 700, currency: 'USD' });
    const userId = newUserId('race-paid');
    const placed = expectStatus(await stack.call('POST', '/v1/me/orders', { as: { user: userId }, body: { packageCode: pkg.code, channel } }), 201, 'place order');
    const key = randomUUID();
    const send: Send = (idempotencyKey) => stack.call('POST', `/v1/admin/orders/${placed.id}/mark-paid`, { as: 'admin', body: { reason: 'bank transfer' }, idempotencyKey });
    const first = expectOneAnswer(await burstWithOneKey(send, key), 202);
    expect(first.id).toBe(placed.id);
    await waitForOrder(stack, placed.id, ['completed']);
    expect(await send(key)).toMatchObject({ status: 202, body: first });
    expect(await stack.db.orderPayment.count({ where: { orderId: placed.id } })).toBe(1);
  });

  it('coupon: one coupon; 16 keys creating one code get one 201 and 409s', async () => {
    const body = { code: couponCode('RACE'), kind: 'percent', percentBasisPoints: 1000 };
    const created = expectOneAnswer(await burstWithOneKey((key) => stack.call('POST', '/v1/admin/coupons', { as: 'admin', body, idempotencyKey: key })), 201);
    expect(created.code).toBe(body.code);
    const contested = { ...body, code: couponCode('RACE') };
    expectOneWinner(await burstWithManyKeys((key) => stack.call('POST', '/v1/admin/coupons', { as: 'admin', body: contested, idempotencyKey: key })), 201);
    expect(await stack.db.coupon.count({ where: { code: { in: [body.code, contested.code] } } })).toBe(2);
  });

  it('payment channel: one channel; 16 keys creating one code get one 201 and 409s', async () => {
    const channel = () => ({ code: `race-${randomUUID().slice(0, 8)}`, kind: 'manual', name: 'Race', currencies: ['USD'] });
    const body = channel();
    expectOneAnswer(await burstWithOneKey((key) => stack.call('POST', '/v1/admin/payment-channels', { as: 'admin', body, idempotencyKey: key })), 201);
    const contested = channel();
    expectOneWinner(await burstWithManyKeys((key) => stack.call('POST', '/v1/admin/payment-channels', { as: 'admin', body: contested, idempotencyKey: key })), 201);
    expect(await stack.db.paymentChannel.count({ where: { code: { in: [body.code, contested.code] } } })).toBe(2);
  });

  it('seller: one seller; 16 keys creating one code, or claiming one package, get one 201 and 409s', async () => {
    const body = { code: uniqueKey('seller'), name: 'Racer' };
    expectOneAnswer(await burstWithOneKey((key) => stack.call('POST', '/v1/admin/sellers', { as: 'admin', body, idempotencyKey: key })), 201);
    const contested = { code: uniqueKey('seller'), name: 'Racer' };
    expectOneWinner(await burstWithManyKeys((key) => stack.call('POST', '/v1/admin/sellers', { as: 'admin', body: contested, idempotencyKey: key })), 201);
    expect(await stack.db.seller.count({ where: { code: { in: [body.code, contested.code] } } })).toBe(2);

    // Sixteen sellers, each created with the same package: the package has one seller.
    const pkg = await createPackage(stack);
    const claims = await Promise.all(
      Array.from({ length: CONCURRENT }, () => stack.call('POST', '/v1/admin/sellers', { as: 'admin', body: { code: uniqueKey('seller'), name: 'Claimer', packageCodes: [pkg.code] } })),
    );
    expectOneWinner(claims, 201);
    expect(await stack.db.sellerPackage.count({ where: { packageId: pkg.id } })).toBe(1);
  });

  it('webhook endpoint: one endpoint, the same secret for every retry', async () => {
    const body = { url: 'http://127.0.0.1:9/race', eventTypes: ['credits.deducted'], description: uniqueKey('race'), enabled: false };
    const endpoint = expectOneAnswer(await burstWithOneKey((key) => stack.call('POST', '/v1/admin/webhook-endpoints', { as: 'admin', body, idempotencyKey: key })), 201);
    expect(await stack.db.webhookEndpoint.count({ where: { description: body.description } })).toBe(1);
    await stack.call('DELETE', `/v1/admin/webhook-endpoints/${endpoint.id}`, { as: 'admin' });
  });

  it('package: one package; 16 keys creating one code get one 201 and 409s', async () => {
    const body = packageFields();
    expectOneAnswer(await burstWithOneKey((key) => stack.call('POST', '/v1/admin/packages', { as: 'admin', body, idempotencyKey: key })), 201);
    const contested = packageFields();
    expectOneWinner(await burstWithManyKeys((key) => stack.call('POST', '/v1/admin/packages', { as: 'admin', body: contested, idempotencyKey: key })), 201);
    expect(await stack.db.billingPackage.count({ where: { code: { in: [body.code, contested.code] } } })).toBe(2);
  });

  it('action price: one price; 16 keys creating one action key get one 201 and 409s', async () => {
    const body = { actionKey: uniqueKey('action'), name: 'Race', creditsPerUnit: 3 };
    expectOneAnswer(await burstWithOneKey((key) => stack.call('POST', '/v1/admin/action-prices', { as: 'admin', body, idempotencyKey: key })), 201);
    const contested = { ...body, actionKey: uniqueKey('action') };
    expectOneWinner(await burstWithManyKeys((key) => stack.call('POST', '/v1/admin/action-prices', { as: 'admin', body: contested, idempotencyKey: key })), 201);
    expect(await stack.db.actionPrice.count({ where: { actionKey: { in: [body.actionKey, contested.actionKey] } } })).toBe(2);
  });

  it('package prices: one replace per key; 16 keys replacing them at once all succeed with the same prices', async () => {
    const pkg = await createPackage(stack, { currency: 'USD' });
    const body = { prices: [{ currency: 'EUR', amountMinor: 900 }, { currency: 'GBP', amountMinor: 800 }] };
    const send: Send = (key) => stack.call('POST', `/v1/admin/packages/${pkg.id}/prices`, { as: 'admin', body, idempotencyKey: key });
    const prices = expectOneAnswer(await burstWithOneKey(send), 200);
    expect(expectOneAnswer(await burstWithManyKeys(send), 200)).toEqual(prices);
    expect(await stack.db.packagePrice.count({ where: { packageId: pkg.id } })).toBe(2);
  });

  it('notification settings: 16 concurrent first PUTs all answer the settings', async () => {
    const userId = newUserId('race-settings');
    const body = { email: 'racer@example.com', emailOptOut: ['balance.low'] };
    const answers = await Promise.all(Array.from({ length: CONCURRENT }, () => stack.call('PUT', '/v1/me/notification-settings', { as: { user: userId }, body })));
    expect(expectOneAnswer(answers, 200)).toEqual(body);
  });

  it('reconciliation run: one report for every retry', async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const body = { channel: gatewayChannel, from, to };
    const report = expectOneAnswer(await burstWithOneKey((key) => stack.call('POST', '/v1/admin/reconciliations', { as: 'admin', body, idempotencyKey: key })), 201);
    expect(await stack.db.reconciliationReport.count({ where: { id: report.id } })).toBe(1);
  });
});

describe('16 concurrent retries under one key of a change to something that exists answer the first answer, once', () => {
  it('consumption refund: one refund', async () => {
    const userId = newUserId('race-refund');
    await grantCredits(stack.db, userId, 100);
    const spent = expectStatus(await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat', quantity: 5 } }), 201, 'deduct');
    const body = { credits: 2, reason: 'the action failed' };
    const refund = expectOneAnswer(await burstWithOneKey((key) => stack.call('POST', `/v1/internal/consumptions/${spent.id}/refund`, { body, idempotencyKey: key })), 201);
    expect(refund).toMatchObject({ consumptionId: spent.id, credits: 2 });
    expect(await stack.db.consumptionRefund.count({ where: { consumptionId: spent.id } })).toBe(1);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('order cancel, and an admin refund of a completed order: one each', async () => {
    const channel = await manualChannel(stack, ['USD']);
    const pkg = await createPackage(stack, { priceMinor: 1000, currency: 'USD' });
    const buyer = newUserId('race-cancel');
    const unpaid = expectStatus(await stack.call('POST', '/v1/me/orders', { as: { user: buyer }, body: { packageCode: pkg.code, channel } }), 201, 'order');
    const cancelled = expectOneAnswer(await burstWithOneKey((key) => stack.call('POST', `/v1/me/orders/${unpaid.id}/cancel`, { as: { user: buyer }, idempotencyKey: key })), 200);
    expect(cancelled).toMatchObject({ id: unpaid.id, status: 'cancelled' });

    const payer = newUserId('race-order-refund');
    const placed = expectStatus(await stack.call('POST', '/v1/me/orders', { as: { user: payer }, body: { packageCode: pkg.code, channel } }), 201, 'order');
    expectStatus(await stack.call('POST', `/v1/admin/orders/${placed.id}/mark-paid`, { as: 'admin', body: { reason: 'cash' } }), 202, 'mark paid');
    await waitForOrder(stack, placed.id, ['completed']);
    const body = { amountMinor: 300, reason: 'goodwill' };
    const refund = expectOneAnswer(await burstWithOneKey((key) => stack.call('POST', `/v1/admin/orders/${placed.id}/refund`, { as: 'admin', body, idempotencyKey: key })), 202);
    expect(refund).toMatchObject({ orderId: placed.id, amountMinor: 300 });
    expect(await stack.db.orderRefund.count({ where: { orderId: placed.id } })).toBe(1);
  });

  it('coupon redemption: 16 buyers racing for the last use get one order and 422s', async () => {
    const channel = await manualChannel(stack, ['USD']);
    const pkg = await createPackage(stack, { priceMinor: 1000, currency: 'USD' });
    const coupon = couponCode('LAST');
    expectStatus(await stack.call('POST', '/v1/admin/coupons', { as: 'admin', body: { code: coupon, kind: 'percent', percentBasisPoints: 1000, maxRedemptions: 1 } }), 201, 'coupon');
    const answers = await Promise.all(
      Array.from({ length: CONCURRENT }, () => stack.call('POST', '/v1/me/orders', { as: { user: newUserId('race-coupon') }, body: { packageCode: pkg.code, channel, couponCode: coupon } })),
    );
    expect(summary(answers).filter((line) => !line.startsWith('201') && !line.startsWith('422'))).toEqual([]);
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    const { id: couponId } = await stack.db.coupon.findUniqueOrThrow({ where: { code: coupon } });
    expect(await stack.db.couponRedemption.count({ where: { couponId } })).toBe(1);
  });

  it('package expiry change and revoke: the same grant for every retry', async () => {
    const userId = newUserId('race-lifecycle');
    const granted = expectStatus(
      await stack.call('POST', `/v1/admin/users/${userId}/packages`, { as: 'admin', body: { packageCode: 'new_user_trial', source: 'gift' } }),
      201,
      'grant',
    );
    const expiresAt = new Date(Date.now() + 90 * 86_400_000).toISOString();
    const moved = expectOneAnswer(
      await burstWithOneKey((key) =>
        stack.call('POST', `/v1/admin/user-packages/${granted.id}/expiry`, { as: 'admin', body: { expiresAt, reason: 'goodwill' }, idempotencyKey: key }),
      ),
      200,
    );
    expect(moved).toMatchObject({ id: granted.id, expiresAt });
    const revoked = expectOneAnswer(
      await burstWithOneKey((key) => stack.call('POST', `/v1/admin/user-packages/${granted.id}/revoke`, { as: 'admin', body: { reason: 'abuse' }, idempotencyKey: key })),
      200,
    );
    expect(revoked).toMatchObject({ id: granted.id, status: 'revoked' });
    expect(await stack.db.creditLedgerEntry.count({ where: { userPackageId: granted.id, entryType: 'adjust' } })).toBe(1);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('webhook secret rotation: the same new secret for every retry', async () => {
    const endpoint = expectStatus(
      await stack.call('POST', '/v1/admin/webhook-endpoints', { as: 'admin', body: { url: 'http://127.0.0.1:9/rotate', eventTypes: ['credits.deducted'], enabled: false } }),
      201,
      'endpoint',
    );
    const rotated = expectOneAnswer(
      await burstWithOneKey((key) => stack.call('POST', `/v1/admin/webhook-endpoints/${endpoint.id}/rotate-secret`, { as: 'admin', body: {}, idempotencyKey: key })),
      200,
    );
    expect(rotated.secret).not.toBe(endpoint.secret);
    await stack.call('DELETE', `/v1/admin/webhook-endpoints/${endpoint.id}`, { as: 'admin' });
  });

  it('lifecycle sweep run now: one report for every retry', async () => {
    const userId = newUserId('race-sweep');
    const report = expectOneAnswer(await burstWithOneKey((key) => stack.call('POST', '/v1/admin/lifecycle/sweeps', { as: 'admin', body: { userId }, idempotencyKey: key })), 201);
    expect(report.id).toEqual(expect.any(String));
  });
});

/** Resolves once the backend `pid` waits for a lock (a row, a transaction, an advisory lock). */
async function waitUntilBlocked(pool: Pool, pid: number, event?: string): Promise<void> {
  await waitFor(async () => {
    const { rows } = await pool.query<{ wait_event: string | null }>(
      "SELECT wait_event FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
      [pid],
    );
    return rows[0] && (event === undefined || rows[0].wait_event === event);
  }, 30_000, `backend ${pid} to wait for a lock${event ? ` (${event})` : ''}`);
}

/** A database client of its own, named, so its sessions are told apart from other test files' in pg_stat_activity. */
function namedDatabase() {
  const applicationName = `claim-race-${randomUUID().slice(0, 8)}`;
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.searchParams.set('application_name', applicationName);
  const db = createDatabase(url.toString(), 4);
  const blockedSessions = async () =>
    (
      await sqlPool(stack.db).query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [applicationName])
    ).rows.map((r) => r.pid);
  return { db, blockedSessions };
}

/** A pooled connection of the test's own, and its backend pid. */
async function session(pool: Pool): Promise<{ client: PoolClient; pid: number }> {
  const client = await pool.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return { client, pid: rows[0]!.pid };
}

/**
 * The claim's other race, made deterministic with row and advisory locks held by sessions of the test:
 * the record holding the key (another request's claim in progress) is freed after a request found it
 * and before it could lock it. The request must claim the key afresh, never go on without it: a
 * concurrent retry would then claim the key too and do the work a second time.
 */
describe('a claim freed between its INSERT and its lock is claimed afresh', () => {
  const otherRequest = 'hash-of-another-request';

  /** Another request's claim on the key, committed, then locked by `holder` until it frees it. */
  async function lockedForeignClaim(pool: Pool, holder: PoolClient, idempotency: Idempotency): Promise<() => Promise<void>> {
    await pool.query('INSERT INTO idempotency_records (scope, key, request_hash, status_code) VALUES ($1, $2, $3, 0)', [idempotency.scope, idempotency.key, otherRequest]);
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM idempotency_records WHERE scope = $1 AND key = $2 FOR UPDATE', [idempotency.scope, idempotency.key]);
    return async () => {
      await holder.query('DELETE FROM idempotency_records WHERE scope = $1 AND key = $2', [idempotency.scope, idempotency.key]);
      await holder.query('COMMIT');
    };
  }

  it('deduct_credits: a retry that arrives meanwhile replays the first deduct, and the user is charged once', async () => {
    const pool = sqlPool(stack.db);
    const userId = newUserId('race-freed');
    await grantCredits(stack.db, userId, 100);
    const idempotency: Idempotency = { scope: 'test:freed-claim', key: randomUUID(), requestHash: 'hash-of-this-deduct' };
    const request = { userId, actionKey: 'ai_chat', quantity: 1 };
    const deduct = (client: PoolClient) =>
      client.query<DeductRow>({ text: DEDUCT_STATEMENT.text, values: deductArguments(request, idempotency, 'test', randomUUID(), new Date(), 0) });
    const holder = await session(pool);
    const userLock = await session(pool);
    const first = await session(pool);
    const second = await session(pool);
    try {
      const freeClaim = await lockedForeignClaim(pool, holder.client, idempotency);
      // The user's lock held, so both deducts queue behind it once they are past their claims.
      await userLock.client.query('BEGIN');
      await userLock.client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [userId]);
      const firstDone = deduct(first.client);
      await waitUntilBlocked(pool, first.pid); // found the foreign claim; waits to lock it
      await freeClaim();
      await waitUntilBlocked(pool, first.pid, 'advisory'); // past its claim (or past without one), behind the user's lock
      const secondDone = deduct(second.client);
      await waitUntilBlocked(pool, second.pid); // on the first's claim (or, claimed itself, behind the user's lock)
      await userLock.client.query('COMMIT');
      const answers = await Promise.all([firstDone, secondDone]);
      expect(answers.map(({ rows }) => rows[0]!.was_replayed)).toEqual([false, true]);
      expect(answers[1]!.rows[0]!.answer).toBe(answers[0]!.rows[0]!.answer);
      expect(await stack.db.consumptionRecord.count({ where: { userId } })).toBe(1);
      await expectLedgerInvariant(stack.db, userId);
    } finally {
      for (const { client } of [holder, userLock, first, second]) client.release();
    }
  });

  it('runIdempotent: a retry that arrives while the first works waits for it and replays it; the work runs once', async () => {
    const { db, blockedSessions } = namedDatabase();
    const pool = sqlPool(stack.db);
    const idempotency: Idempotency = { scope: 'test:freed-claim', key: randomUUID(), requestHash: 'hash-of-this-request' };
    const holder = await session(pool);
    let runs = 0;
    let entered!: () => void;
    const firstWorking = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    try {
      const freeClaim = await lockedForeignClaim(pool, holder.client, idempotency);
      const firstDone = runIdempotent(db, idempotency, async () => {
        runs++;
        entered();
        await gate;
        return { run: runs };
      });
      const [firstPid] = await waitFor(async () => {
        const pids = await blockedSessions();
        return pids.length > 0 && pids;
      }, 30_000, 'the first request to wait to lock the foreign claim');
      await freeClaim();
      await firstWorking;
      let secondFinished = false;
      const secondDone = runIdempotent(db, idempotency, async () => {
        runs++;
        return { run: runs };
      }).finally(() => (secondFinished = true));
      // The second waits on the first's claim, or (finding no claim) ran on its own.
      await waitFor(async () => secondFinished || (await blockedSessions()).some((pid) => pid !== firstPid), 30_000, 'the second request to wait or finish');
      release();
      const [firstAnswer, secondAnswer] = await Promise.all([firstDone, secondDone]);
      expect(runs).toBe(1);
      expect(firstAnswer).toEqual({ body: { run: 1 }, replayed: false });
      expect(secondAnswer).toMatchObject({ body: { run: 1 }, replayed: true });
    } finally {
      release();
      holder.client.release();
      await db.$disconnect();
    }
  });
});

describe('a rebuild that deletes then inserts', () => {
  it('the consumption rollup: two rebuilds at once both succeed (the later one overwrites the days)', async () => {
    const userId = newUserId('race-rollup');
    await grantCredits(stack.db, userId, 10);
    expectStatus(await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' } }), 201, 'deduct'); // today has a row to rebuild
    const { db, blockedSessions } = namedDatabase();
    const reads = await session(sqlPool(stack.db));
    try {
      // Both rebuilds held at their read of the consumptions, so both are past their DELETE when they INSERT.
      await reads.client.query('BEGIN');
      await reads.client.query('LOCK TABLE consumption_records IN ACCESS EXCLUSIVE MODE');
      const rebuilds = Promise.allSettled([runConsumptionRollup(db), runConsumptionRollup(db)]);
      await waitFor(async () => (await blockedSessions()).length === 2, 30_000, 'both rebuilds to wait');
      await reads.client.query('COMMIT');
      expect((await rebuilds).map((r) => (r.status === 'fulfilled' ? 'ok' : String(r.reason)))).toEqual(['ok', 'ok']);
    } finally {
      await reads.client.query('ROLLBACK').catch(() => undefined);
      reads.client.release();
      await db.$disconnect();
    }
  });
});

describe('isUniqueViolation', () => {
  it('recognises a unique violation from a Prisma model call, a Prisma raw query and the pg pool, and nothing else', async () => {
    const actionKey = uniqueKey('unique');
    await stack.db.actionPrice.create({ data: { actionKey, name: 'Unique', creditsPerUnit: 1 } });
    const failures = await Promise.allSettled([
      stack.db.actionPrice.create({ data: { actionKey, name: 'Again', creditsPerUnit: 1 } }),
      stack.db.$executeRaw`INSERT INTO action_prices (id, action_key, name, credits_per_unit, updated_at) VALUES (gen_random_uuid(), ${actionKey}, 'Again', 1, now())`,
      sqlPool(stack.db).query("INSERT INTO action_prices (id, action_key, name, credits_per_unit, updated_at) VALUES (gen_random_uuid(), $1, 'Again', 1, now())", [actionKey]),
      stack.db.$executeRaw`SELECT 1 / 0`,
    ]);
    expect(failures.map((f) => f.status === 'rejected' && isUniqueViolation(f.reason))).toEqual([true, true, true, false]);
  });
});
