/**
 * Every admin write leaves one audit row of the same shape, whichever module made the change: who,
 * which action on which entity, `{ before, after }` (before null on create) and the request's
 * idempotency key. One writer (recordAudit in modules/catalog) makes the rows; this reads them back.
 */
import { createCoupon, createSeller, manualChannel } from './support/commerce';
import { buyablePackage } from './support/orders';
import { startStack, type TestStack } from './support/stack';
import { expectStatus } from './support/fixtures';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ withWorker: false });
});
afterAll(async () => {
  await stack?.close();
});

const auditRows = (entityType: string, entityId: string) =>
  stack.db.auditEvent.findMany({ where: { entityType, entityId }, orderBy: { id: 'asc' } });

const ADMIN_ACTOR = expect.stringMatching(/^admin:/);

describe('the audit trail of admin writes', () => {
  it('a coupon created and updated: before null, then the view before and after', async () => {
    const coupon = await createCoupon(stack, {});
    const updated = expectStatus(await stack.call('PATCH', `/v1/admin/coupons/${coupon.code}`, { as: 'admin', body: { maxRedemptions: 5 } }), 200, 'update coupon');
    const rows = await auditRows('coupon', coupon.id);
    expect(rows.map((row) => [row.action, row.changes, row.actor, typeof row.idempotencyKey])).toEqual([
      ['coupon.created', { before: null, after: coupon }, ADMIN_ACTOR, 'string'],
      ['coupon.updated', { before: coupon, after: updated }, ADMIN_ACTOR, 'string'],
    ]);
  });

  it('a seller created: before null, after its view', async () => {
    const seller = await createSeller(stack);
    const rows = await auditRows('seller', seller.id);
    expect(rows.map((row) => [row.action, row.changes, row.actor])).toEqual([['seller.created', { before: null, after: seller }, ADMIN_ACTOR]]);
  });

  it("a package's prices replaced and a channel created are audited the same way", async () => {
    const pkg = await buyablePackage(stack, { priceMinor: 1000 });
    const prices = expectStatus(
      await stack.call('POST', `/v1/admin/packages/${pkg.id}/prices`, { as: 'admin', body: { prices: [{ currency: 'JPY', amountMinor: 150 }] } }),
      200,
      'set prices',
    );
    const priceRows = (await auditRows('billing_package', pkg.id)).filter((row) => row.action === 'package_prices.replaced');
    expect(priceRows.map((row) => (row.changes as { after: unknown }).after)).toEqual([prices]);

    const code = await manualChannel(stack, ['USD']);
    const channel = await stack.db.paymentChannel.findUniqueOrThrow({ where: { code } });
    const channelRows = await auditRows('payment_channel', channel.id);
    expect(channelRows.map((row) => [row.action, (row.changes as { before: unknown }).before])).toEqual([['payment_channel.created', null]]);
  });
});
