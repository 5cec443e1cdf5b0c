/**
 * A permanent package is paid for once, and a coupon is not used past its limits, however the payments
 * land: rules checked when an order is placed are checked again when its payment is provisioned, and a
 * payment that breaks one is refunded through its channel and closed `refunded` (refund row, reason,
 * `order.refunded` event and the user's notice). Real PostgreSQL, Temporal worker, stripe-mock.
 */
import fc from 'fast-check';
import { BillingError } from '../platform/errors';
import { storeNoticeWithoutEmail } from '../modules/events/notifications';
import { placeOrder as placeOrderRow, recordPayment } from '../modules/orders/store';
import { provisionSubscription } from '../modules/subscriptions/provision';
import { orderWorkflowId } from '../workflows/order-contract';
import { createCoupon, manualChannel, markPaid, order as orderBody, setPrices } from './support/commerce';
import { expectStatus, updatePackage, uniqueKey } from './support/fixtures';
import { buyablePackage, postStripeEvent, provisionedState, sessionEvent, waitForOrder, waitForRunToClose } from './support/orders';
import { expectLedgerInvariant, newUserId, startStack, type TestStack } from './support/stack';

let stack: TestStack;
let manual: string;

beforeAll(async () => {
  stack = await startStack();
  manual = await manualChannel(stack, ['USD', 'EUR', 'JPY']);
});
afterAll(async () => {
  await stack?.close();
});

/** Where an order ends once its payment has been dealt with. */
const SETTLED = ['completed', 'refunded', 'failed'];

/** A permanent package priced in USD (the package's own currency) and EUR. */
async function permanentPackage() {
  const pkg = await buyablePackage(stack, { type: 'permanent', durationDays: null, creditsAmount: 100, priceMinor: 1000, currency: 'USD' });
  await setPrices(stack, pkg.id, [{ currency: 'EUR', amountMinor: 900 }]);
  return pkg;
}

async function placed(userId: string, body: Record<string, unknown>) {
  return expectStatus(await orderBody(stack, userId, body), 201, 'place order');
}

async function cancel(userId: string, orderId: string) {
  expectStatus(await stack.call('POST', `/v1/me/orders/${orderId}/cancel`, { as: { user: userId }, body: {} }), 200, 'cancel');
  await waitForRunToClose(stack, orderWorkflowId(orderId));
}

/** What the user holds of the package: grants and subscription periods (whatever their order). */
async function holdings(userId: string, packageId: string) {
  const [grants, periods] = await Promise.all([
    stack.db.userPackage.count({ where: { userId, packageId } }),
    stack.db.subscriptionPeriod.count({ where: { subscription: { userId, packageId } } }),
  ]);
  return { grants, periods };
}

/**
 * The refused payment as the user and the operator see it: the order closed `refunded` with the
 * reason, one succeeded refund of the whole payment through the channel, an `order.refunded` event in
 * the operator's log, and the user's in-app notice of it.
 */
async function expectRefusedAndRefunded(userId: string, orderId: string, reason: RegExp, refundId: RegExp) {
  const mine = expectStatus(await stack.call('GET', `/v1/me/orders/${orderId}`, { as: { user: userId } }), 200, 'my order');
  expect(mine).toMatchObject({ status: 'refunded', refundedMinor: mine.amountMinor, grantId: null, subscriptionId: null });
  expect(mine.failureReason).toMatch(reason);
  expect(mine.progress.steps.map((s: { name: string }) => s.name)).toEqual(expect.arrayContaining(['refund_payment', 'close_refunded']));

  const refunds = expectStatus(await stack.call('GET', `/v1/admin/orders/${orderId}/refunds`, { as: 'admin' }), 200, 'refunds').items;
  expect(refunds).toHaveLength(1);
  expect(refunds[0]).toMatchObject({ status: 'succeeded', amountMinor: mine.amountMinor, gatewayRefundId: expect.stringMatching(refundId) });
  expect(refunds[0].reason).toMatch(reason);
  expect(await provisionedState(stack, orderId)).toEqual({ periods: 0, payments: 1, grants: 0 });

  const events = expectStatus(await stack.call('GET', `/v1/admin/events?type=order.refunded&userId=${encodeURIComponent(userId)}`, { as: 'admin' }), 200, 'events').items;
  const event = events.find((e: { payload: { orderId: string } }) => e.payload.orderId === orderId);
  expect(event.payload).toMatchObject({ amountMinor: mine.amountMinor, currency: mine.currency, revokedGrantIds: [] });
  expect(event.payload.reason).toMatch(reason);
  // The relay stores the notice of a user without an email address exactly like this (modules/events/relay.ts).
  await storeNoticeWithoutEmail(stack.db, (await stack.db.event.findFirstOrThrow({ where: { id: event.id } }))!);
  const notices = expectStatus(await stack.call('GET', '/v1/me/notifications', { as: { user: userId } }), 200, 'notices').items;
  expect(notices.filter((n: { type: string }) => n.type === 'order.refunded')).toHaveLength(1);
}

describe('a permanent package is provisioned once', () => {
  it('two unpaid orders (USD and EUR) paid one after the other: one grant, one period; the second is refunded', async () => {
    const userId = newUserId('once-seq');
    const pkg = await permanentPackage();
    const usd = await placed(userId, { packageCode: pkg.code, channel: 'stripe' });
    const eur = await placed(userId, { packageCode: pkg.code, channel: 'stripe', currency: 'EUR' });
    expect([usd.currency, eur.currency, eur.amountMinor]).toEqual(['USD', 'EUR', 900]);

    await postStripeEvent(stack, sessionEvent('checkout.session.completed', usd));
    expect((await waitForOrder(stack, usd.id, SETTLED)).status).toBe('completed');
    await postStripeEvent(stack, sessionEvent('checkout.session.completed', eur));
    expect((await waitForOrder(stack, eur.id, SETTLED)).status).toBe('refunded');

    expect(await holdings(userId, pkg.id)).toEqual({ grants: 1, periods: 1 });
    await expectRefusedAndRefunded(userId, eur.id, /ALREADY_OWNED/, /^re_/);
    const credits = expectStatus(await stack.call('GET', '/v1/me/credits', { as: { user: userId } }), 200, 'credits');
    expect(credits.availableCredits).toBe(100);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('the same two orders paid at the same moment (two webhooks at once): exactly one provisions, the other is refunded', async () => {
    const userId = newUserId('once-race');
    const pkg = await permanentPackage();
    const usd = await placed(userId, { packageCode: pkg.code, channel: 'stripe' });
    const eur = await placed(userId, { packageCode: pkg.code, channel: 'stripe', currency: 'EUR' });

    const answers = await Promise.all([usd, eur].map((o) => postStripeEvent(stack, sessionEvent('checkout.session.completed', o))));
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    const settled = await Promise.all([usd, eur].map((o) => waitForOrder(stack, o.id, SETTLED)));
    expect(settled.map((o) => o.status).sort()).toEqual(['completed', 'refunded']);

    expect(await holdings(userId, pkg.id)).toEqual({ grants: 1, periods: 1 });
    const loser = settled.find((o) => o.status === 'refunded')!;
    await expectRefusedAndRefunded(userId, loser.id, /ALREADY_OWNED/, /^re_/);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('provisioning raced directly: of any number of paid orders for it, exactly one provisions and the others are refused ALREADY_OWNED', async () => {
    const pkg = await permanentPackage();
    await setPrices(stack, pkg.id, [
      { currency: 'EUR', amountMinor: 900 },
      { currency: 'JPY', amountMinor: 1500 },
    ]);
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray(['USD', 'EUR', 'JPY'], { minLength: 2 }), async (currencies) => {
        const userId = newUserId('once-model');
        const orders = [];
        for (const currency of currencies) {
          const { body } = await placeOrderRow(stack.db, { userId, packageCode: pkg.code, channel: manual, currency }, 1800, { scope: 'test', key: uniqueKey('race'), requestHash: 'h' }, 'test');
          await recordPayment(stack.db, body.id, { source: 'manual', externalId: 'manual', amountMinor: body.amountMinor, currency, actor: 'test' });
          orders.push(body.id);
        }
        const outcomes = await Promise.allSettled(orders.map((id) => provisionSubscription(stack.db, id)));
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        for (const refused of outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected')) {
          expect(refused.reason).toBeInstanceOf(BillingError);
          expect((refused.reason as BillingError).code).toBe('ALREADY_OWNED');
        }
        expect(await holdings(userId, pkg.id)).toEqual({ grants: 0, periods: 1 });
      }),
      { numRuns: 8 },
    );
  });

  it('a late payment for a cancelled order, after the package was bought another way (an order, an admin gift), is refunded', async () => {
    const pkg = await permanentPackage();

    const buyer = newUserId('once-late');
    const cancelled = await placed(buyer, { packageCode: pkg.code, channel: 'stripe' });
    await cancel(buyer, cancelled.id);
    const bought = await placed(buyer, { packageCode: pkg.code, channel: 'stripe' });
    expect(bought.id).not.toBe(cancelled.id);
    await postStripeEvent(stack, sessionEvent('checkout.session.completed', bought));
    expect((await waitForOrder(stack, bought.id, SETTLED)).status).toBe('completed');
    await postStripeEvent(stack, sessionEvent('checkout.session.completed', cancelled));
    expect((await waitForOrder(stack, cancelled.id, SETTLED)).status).toBe('refunded');
    expect(await holdings(buyer, pkg.id)).toEqual({ grants: 1, periods: 1 });
    await expectRefusedAndRefunded(buyer, cancelled.id, /ALREADY_OWNED/, /^re_/);

    const gifted = newUserId('once-gift');
    const unpaid = await placed(gifted, { packageCode: pkg.code, channel: manual });
    await cancel(gifted, unpaid.id);
    expectStatus(await stack.call('POST', `/v1/admin/users/${gifted}/packages`, { as: 'admin', body: { packageCode: pkg.code } }), 201, 'gift');
    await markPaid(stack, unpaid.id);
    expect((await waitForOrder(stack, unpaid.id, SETTLED)).status).toBe('refunded');
    expect(await holdings(gifted, pkg.id)).toEqual({ grants: 1, periods: 0 });
    await expectRefusedAndRefunded(gifted, unpaid.id, /ALREADY_OWNED/, /^manual-refund-/);
    await expectLedgerInvariant(stack.db, buyer);
    await expectLedgerInvariant(stack.db, gifted);
  });

  it('a package withdrawn after the order was placed is still delivered to the one who paid for it', async () => {
    const userId = newUserId('once-withdrawn');
    const pkg = await buyablePackage(stack);
    const order = await placed(userId, { packageCode: pkg.code, channel: 'stripe' });
    expectStatus(await updatePackage(stack, pkg.id, { status: 'disabled' }), 200, 'withdraw');
    await postStripeEvent(stack, sessionEvent('checkout.session.completed', order));
    expect((await waitForOrder(stack, order.id, SETTLED)).status).toBe('completed');
    expect(await provisionedState(stack, order.id)).toEqual({ periods: 1, payments: 1, grants: 1 });
  });
});

describe('a late payment does not use a coupon past its limits', () => {
  const couponRow = (code: string) => stack.db.coupon.findUniqueOrThrow({ where: { code } });
  const redemption = (orderId: string) => stack.db.couponRedemption.findUniqueOrThrow({ where: { orderId } });

  it("per user: the use given back went to the same user's next order; the late payment is refunded", async () => {
    const userId = newUserId('once-coupon');
    const pkg = await buyablePackage(stack, { priceMinor: 2000 });
    const coupon = await createCoupon(stack, { maxPerUser: 1 });
    const first = await placed(userId, { packageCode: pkg.code, channel: manual, couponCode: coupon.code });
    await cancel(userId, first.id);
    const second = await placed(userId, { packageCode: pkg.code, channel: manual, couponCode: coupon.code });
    await markPaid(stack, second.id);
    expect((await waitForOrder(stack, second.id, SETTLED)).status).toBe('completed');

    await markPaid(stack, first.id);
    expect((await waitForOrder(stack, first.id, SETTLED)).status).toBe('refunded');
    await expectRefusedAndRefunded(userId, first.id, /COUPON_USER_LIMIT_REACHED/, /^manual-refund-/);
    expect(await redemption(first.id)).toMatchObject({ status: 'released', overLimit: false });
    expect(await redemption(second.id)).toMatchObject({ status: 'confirmed' });
    expect((await couponRow(coupon.code)).usedCount).toBe(1);
    expect(await stack.db.userPackage.count({ where: { userId, packageId: pkg.id } })).toBe(1);
  });

  it('in total: the last use went to another user meanwhile; the late payment is refunded', async () => {
    const pkg = await buyablePackage(stack, { priceMinor: 2000 });
    const coupon = await createCoupon(stack, { maxRedemptions: 1 });
    const late = newUserId('once-coupon-late');
    const other = newUserId('once-coupon-other');
    const first = await placed(late, { packageCode: pkg.code, channel: manual, couponCode: coupon.code });
    await cancel(late, first.id);
    const taken = await placed(other, { packageCode: pkg.code, channel: manual, couponCode: coupon.code });
    await markPaid(stack, taken.id);
    expect((await waitForOrder(stack, taken.id, SETTLED)).status).toBe('completed');

    await markPaid(stack, first.id);
    expect((await waitForOrder(stack, first.id, SETTLED)).status).toBe('refunded');
    await expectRefusedAndRefunded(late, first.id, /COUPON_EXHAUSTED/, /^manual-refund-/);
    expect(await redemption(first.id)).toMatchObject({ status: 'released', overLimit: false });
    expect((await couponRow(coupon.code)).usedCount).toBe(1);
  });
});
