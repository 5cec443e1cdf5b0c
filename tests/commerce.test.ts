/**
 * Coupons, prices in several currencies and the sellers' split on the real stack (PostgreSQL,
 * Temporal, the order workflow): the last use of a code raced by 10 orders, uses given back once,
 * per-user and restricted codes, JPY/KWD orders, the split after partial refunds, earnings by period.
 */
import { buyablePackage, waitForOrder } from './support/orders';
import { expectStatus } from './support/fixtures';
import { couponCode, createCoupon, createSeller, manualChannel, markPaid, order, setPrices } from './support/commerce';
import { expectLedgerInvariant, newUserId, startStack, type TestStack } from './support/stack';
import { transitionOrder } from '../modules/orders/store';
import { waitFor } from './support/wait';

let stack: TestStack;
let channel: string;
let usdOnly: string;

beforeAll(async () => {
  stack = await startStack({ orderExpirySeconds: 15 });
  channel = await manualChannel(stack, ['USD', 'JPY', 'KWD']);
  usdOnly = await manualChannel(stack, ['USD']);
});
afterAll(async () => {
  await stack?.close();
});

const couponRow = (code: string) => stack.db.coupon.findUniqueOrThrow({ where: { code } });

describe('coupons', () => {
  it('10 concurrent orders for the last use: exactly one gets it; cancelling gives it back once', async () => {
    const pkg = await buyablePackage(stack, { priceMinor: 2000 });
    const coupon = await createCoupon(stack, { maxRedemptions: 3 });
    // Two uses are taken already: the race is for the last one.
    for (let i = 0; i < 2; i++) expectStatus(await order(stack, newUserId('early'), { packageCode: pkg.code, channel, couponCode: coupon.code }), 201, 'early order');
    const users = Array.from({ length: 10 }, () => newUserId('racer'));
    const answers = await Promise.all(users.map((userId) => order(stack, userId, { packageCode: pkg.code, channel, couponCode: coupon.code })));
    const winners = answers.filter((a) => a.status === 201);
    expect(winners).toHaveLength(1);
    for (const loser of answers.filter((a) => a.status !== 201)) {
      expect([loser.status, loser.body.error.code, loser.body.error.details.reason]).toEqual([422, 'COUPON_NOT_APPLICABLE', 'COUPON_EXHAUSTED']);
    }
    expect((await couponRow(coupon.code)).usedCount).toBe(3);
    expect(await stack.db.couponRedemption.count({ where: { couponId: coupon.id } })).toBe(3);
    const losers = users.filter((_, i) => answers[i]!.status !== 201);
    expect(await stack.db.order.count({ where: { userId: { in: losers } } })).toBe(0); // a refusal leaves nothing

    const winner = winners[0]!.body;
    expect([winner.listAmountMinor, winner.discountMinor, winner.amountMinor, winner.couponCode]).toEqual([2000, 300, 1700, coupon.code]);
    const cancel = () => stack.call('POST', `/v1/me/orders/${winner.id}/cancel`, { as: { user: winner.userId }, body: {} });
    expect((await cancel()).status).toBe(200);
    expect((await stack.call('POST', `/v1/me/orders/${winner.id}/cancel`, { as: { user: winner.userId }, body: {}, idempotencyKey: 'another-key' })).status).toBe(409);
    // Repeating the closing transition directly changes nothing either.
    expect(await transitionOrder(stack.db, winner.id, 'cancelled')).toBe(false);
    expect((await couponRow(coupon.code)).usedCount).toBe(2);
    expect((await stack.db.couponRedemption.findUniqueOrThrow({ where: { orderId: winner.id } })).status).toBe('released');
    // The use is free again.
    expectStatus(await order(stack, newUserId('next'), { packageCode: pkg.code, channel, couponCode: coupon.code }), 201, 'order after give-back');
    expect((await couponRow(coupon.code)).usedCount).toBe(3);
  });

  it('an expired order gives its use back once; a late payment takes it again', async () => {
    const pkg = await buyablePackage(stack, { priceMinor: 2000 });
    const coupon = await createCoupon(stack, { maxRedemptions: 1 });
    const userId = newUserId('expiry');
    const placed = expectStatus(await order(stack, userId, { packageCode: pkg.code, channel, couponCode: coupon.code }), 201, 'order');
    expect((await couponRow(coupon.code)).usedCount).toBe(1);
    await waitForOrder(stack, placed.id, ['expired'], 60_000);
    expect((await couponRow(coupon.code)).usedCount).toBe(0);
    expect(await transitionOrder(stack.db, placed.id, 'expired')).toBe(false);
    expect((await couponRow(coupon.code)).usedCount).toBe(0);

    await markPaid(stack, placed.id);
    await waitForOrder(stack, placed.id, ['completed']);
    expect((await couponRow(coupon.code)).usedCount).toBe(1);
    expect(await stack.db.couponRedemption.findUniqueOrThrow({ where: { orderId: placed.id } })).toMatchObject({ status: 'confirmed', overLimit: false });
    await expectLedgerInvariant(stack.db, userId);
  });

  it('per-user limit; a restricted code is refused for another package with the reason; first purchase only', async () => {
    const a = await buyablePackage(stack, { priceMinor: 1000 });
    const b = await buyablePackage(stack, { priceMinor: 1000 });
    const perUser = await createCoupon(stack, { maxPerUser: 1 });
    const userId = newUserId('limits');
    expectStatus(await order(stack, userId, { packageCode: a.code, channel, couponCode: perUser.code }), 201, 'first use');
    const second = await order(stack, userId, { packageCode: b.code, channel, couponCode: perUser.code });
    expect([second.status, second.body.error.details.reason]).toEqual([422, 'COUPON_USER_LIMIT_REACHED']);
    expectStatus(await order(stack, newUserId('other'), { packageCode: b.code, channel, couponCode: perUser.code }), 201, 'another user');

    const onlyA = await createCoupon(stack, { packageCodes: [a.code] });
    const preview = expectStatus(await stack.call('POST', '/v1/me/coupons/preview', { as: { user: userId }, body: { code: onlyA.code, packageCode: b.code } }), 200, 'preview');
    expect(preview).toMatchObject({ applicable: false, reason: 'COUPON_PACKAGE_NOT_ELIGIBLE', amountMinor: 1000, discountMinor: 0 });
    const refused = await order(stack, newUserId('restricted'), { packageCode: b.code, channel, couponCode: onlyA.code });
    expect([refused.status, refused.body.error.code, refused.body.error.details.reason]).toEqual([422, 'COUPON_NOT_APPLICABLE', 'COUPON_PACKAGE_NOT_ELIGIBLE']);
    const okPreview = expectStatus(await stack.call('POST', '/v1/me/coupons/preview', { as: { user: userId }, body: { code: onlyA.code, packageCode: a.code } }), 200, 'preview');
    expect(okPreview).toMatchObject({ applicable: true, reason: null, listAmountMinor: 1000, discountMinor: 150, amountMinor: 850 });

    const unknown = expectStatus(await stack.call('POST', '/v1/me/coupons/preview', { as: { user: userId }, body: { code: couponCode(), packageCode: a.code } }), 200, 'preview');
    expect(unknown.reason).toBe('COUPON_NOT_FOUND');
    const disabled = await createCoupon(stack, { enabled: false });
    expect((await stack.call('POST', '/v1/me/coupons/preview', { as: { user: userId }, body: { code: disabled.code, packageCode: a.code } })).body.reason).toBe('COUPON_DISABLED');

    // First purchase only: a user with a paid order is refused.
    const first = await createCoupon(stack, { firstPurchaseOnly: true });
    const buyer = newUserId('buyer');
    const paid = expectStatus(await order(stack, buyer, { packageCode: a.code, channel }), 201, 'order');
    await markPaid(stack, paid.id);
    await waitForOrder(stack, paid.id, ['completed']);
    const again = await order(stack, buyer, { packageCode: b.code, channel, couponCode: first.code });
    expect(again.body.error.details.reason).toBe('COUPON_FIRST_PURCHASE_ONLY');
    expectStatus(await order(stack, newUserId('newcomer'), { packageCode: b.code, channel, couponCode: first.code }), 201, 'first purchase');
  });
});

describe('currencies', () => {
  it('orders in the chosen currency with percent and fixed discounts (JPY, KWD); refuses a currency the package or channel lacks', async () => {
    const pkg = await buyablePackage(stack, { priceMinor: 1999, currency: 'USD' });
    await setPrices(stack, pkg.id, [
      { currency: 'JPY', amountMinor: 2980 },
      { currency: 'KWD', amountMinor: 6150 },
    ]);
    const prices = expectStatus(await stack.call('GET', `/v1/packages/${pkg.code}/prices`, { as: 'anonymous' }), 200, 'prices');
    expect(prices.items).toEqual([
      { currency: 'USD', amountMinor: 1999, default: true },
      { currency: 'JPY', amountMinor: 2980, default: false },
      { currency: 'KWD', amountMinor: 6150, default: false },
    ]);
    const percent = await createCoupon(stack, { percentBasisPoints: 1500 });
    const jpy = expectStatus(await order(stack, newUserId('yen'), { packageCode: pkg.code, channel, currency: 'JPY', couponCode: percent.code }), 201, 'JPY order');
    expect([jpy.currency, jpy.listAmountMinor, jpy.discountMinor, jpy.amountMinor]).toEqual(['JPY', 2980, 447, 2533]);
    const usd = expectStatus(await order(stack, newUserId('usd'), { packageCode: pkg.code, channel, couponCode: percent.code }), 201, 'USD order');
    expect([usd.currency, usd.discountMinor, usd.amountMinor]).toEqual(['USD', 299, 1700]);

    const fixed = await createCoupon(stack, { kind: 'fixed', percentBasisPoints: undefined, amountsOff: { KWD: 1500, USD: 500 } });
    const kwd = expectStatus(await order(stack, newUserId('kwd'), { packageCode: pkg.code, channel, currency: 'KWD', couponCode: fixed.code }), 201, 'KWD order');
    expect([kwd.currency, kwd.amountMinor, kwd.discountMinor]).toEqual(['KWD', 4650, 1500]);
    const noJpy = await order(stack, newUserId('nojpy'), { packageCode: pkg.code, channel, currency: 'JPY', couponCode: fixed.code });
    expect(noJpy.body.error.details.reason).toBe('COUPON_CURRENCY_NOT_COVERED');

    const userId = newUserId('unsupported');
    const eur = await order(stack, userId, { packageCode: pkg.code, channel, currency: 'EUR' });
    expect([eur.status, eur.body.error.code]).toEqual([422, 'CURRENCY_NOT_SUPPORTED']);
    const viaUsdOnly = await order(stack, userId, { packageCode: pkg.code, channel: usdOnly, currency: 'JPY' });
    expect([viaUsdOnly.status, viaUsdOnly.body.error.code]).toEqual([422, 'CHANNEL_UNAVAILABLE']);
    expect(await stack.db.order.count({ where: { userId } })).toBe(0);
  });
});

describe('sellers and the revenue split', () => {
  it("records fee and share on payment, reverses them in proportion on partial refunds, and reports earnings by period and currency", async () => {
    const pkg = await buyablePackage(stack, { priceMinor: 1999, currency: 'USD' });
    await setPrices(stack, pkg.id, [{ currency: 'JPY', amountMinor: 2980 }]);
    const seller = await createSeller(stack, { packageCodes: [pkg.code] });
    expect(seller.platformFeeBasisPoints).toBe(1500);
    const coupon = await createCoupon(stack, { percentBasisPoints: 1500 });
    const userId = newUserId('fan');
    const placed = expectStatus(await order(stack, userId, { packageCode: pkg.code, channel, currency: 'JPY', couponCode: coupon.code }), 201, 'order');
    await markPaid(stack, placed.id);
    await waitForOrder(stack, placed.id, ['completed']);
    const split = expectStatus(await stack.call('GET', `/v1/admin/orders/${placed.id}/split`, { as: 'admin' }), 200, 'split');
    // 2533 JPY: fee floor(2533 × 15 %) = 379, seller 2154 (the odd unit goes to the seller).
    expect(split.entries).toEqual([expect.objectContaining({ kind: 'sale', currency: 'JPY', grossMinor: 2533, platformFeeMinor: 379, sellerShareMinor: 2154 })]);

    for (const amountMinor of [1000, 333]) {
      const refund = expectStatus(await stack.call('POST', `/v1/admin/orders/${placed.id}/refund`, { as: 'admin', body: { amountMinor, reason: 'partial' } }), 202, 'refund');
      await waitFor(async () => (await stack.db.orderRefund.findUniqueOrThrow({ where: { id: refund.id } })).status === 'succeeded', 60_000, 'the refund to succeed');
    }
    let after = expectStatus(await stack.call('GET', `/v1/admin/orders/${placed.id}/split`, { as: 'admin' }), 200, 'split');
    const reversals = after.entries.filter((e: { kind: string }) => e.kind === 'refund');
    expect(reversals.map((e: any) => e.platformFeeMinor + e.sellerShareMinor)).toEqual([-1000, -333]);
    expect(after.net.grossMinor).toBe(2533 - 1333);
    expect(after.net.platformFeeMinor + after.net.sellerShareMinor).toBe(after.net.grossMinor);
    expect((await couponRow(coupon.code)).usedCount).toBe(1); // partially refunded keeps the use

    const rest = expectStatus(await stack.call('POST', `/v1/admin/orders/${placed.id}/refund`, { as: 'admin', body: { reason: 'the rest' } }), 202, 'refund');
    await waitFor(async () => (await stack.db.orderRefund.findUniqueOrThrow({ where: { id: rest.id } })).status === 'succeeded', 60_000, 'the refund to succeed');
    after = expectStatus(await stack.call('GET', `/v1/admin/orders/${placed.id}/split`, { as: 'admin' }), 200, 'split');
    expect(after.net).toEqual({ grossMinor: 0, platformFeeMinor: 0, sellerShareMinor: 0 });
    expect((await couponRow(coupon.code)).usedCount).toBe(0); // a full refund gives the use back

    // A second sale in USD; earnings by day keep currencies apart.
    const usd = expectStatus(await order(stack, newUserId('fan2'), { packageCode: pkg.code, channel }), 201, 'order');
    await markPaid(stack, usd.id);
    await waitForOrder(stack, usd.id, ['completed']);
    const today = new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z');
    const earnings = expectStatus(
      await stack.call('GET', `/v1/admin/sellers/${seller.id}/earnings?granularity=month&from=${encodeURIComponent(new Date(today.getTime() - 40 * 86_400_000).toISOString())}`, { as: 'admin' }),
      200,
      'earnings',
    );
    const byCurrency = Object.fromEntries(earnings.items.map((i: any) => [i.currency, i]));
    expect(byCurrency.JPY).toMatchObject({ sales: 1, refunds: 3, grossMinor: 0, platformFeeMinor: 0, sellerShareMinor: 0 });
    expect(byCurrency.USD).toMatchObject({ sales: 1, refunds: 0, grossMinor: 1999, platformFeeMinor: 299, sellerShareMinor: 1700 });
    const future = expectStatus(await stack.call('GET', `/v1/admin/sellers/${seller.id}/earnings?from=${encodeURIComponent(new Date(Date.now() + 86_400_000).toISOString())}`, { as: 'admin' }), 200, 'earnings');
    expect(future.items).toEqual([]);

    const csv = await fetch(`${stack.baseUrl}/v1/admin/sellers/${seller.id}/earnings/export.csv`, { headers: { authorization: `Bearer ${require('./support/stack').ADMIN_KEY}` } });
    expect(csv.status).toBe(200);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('id,occurred_at,kind,order_id,currency,gross_minor,platform_fee_minor,seller_share_minor,fee_basis_points');
    expect(lines).toHaveLength(1 + 5);

    // The earnings ledger is append-only.
    await expect(stack.db.$executeRaw`UPDATE seller_earning_entries SET gross_minor = 0 WHERE order_id = ${placed.id}::uuid`).rejects.toThrow(/append-only/);

    const stats = expectStatus(await stack.call('GET', '/v1/admin/statistics/sales', { as: 'admin' }), 200, 'stats');
    expect(stats.items.map((i: any) => i.currency)).toEqual(expect.arrayContaining(['JPY', 'USD']));
  });
});
