/**
 * The generic gateway through the local simulator (signed redirect, signed callback, refund), and
 * the unpaid-order timeline with a short expiry: expiry, cancellation, and the late-payment rule.
 */
import { randomUUID } from 'node:crypto';
import { withSignature } from '../modules/payments/rules/gateway-signature';
import { startGatewaySimulator, type GatewaySimulator } from '../scripts/services/gateway-simulator';
import { orderWorkflowId } from '../workflows/order-contract';
import { expectStatus, updatePackage } from './support/fixtures';
import { buyablePackage, placeOrder, postStripeEvent, provisionedState, sessionEvent, waitForOrder, createGatewayChannel } from './support/orders';
import { expectLedgerInvariant, newUserId, startStack, type TestStack } from './support/stack';

let stack: TestStack;
let simulator: GatewaySimulator;
const channel = `sim-${randomUUID().slice(0, 8)}`;
const merchantId = 'test-merchant';
const secret = 'test-gateway-secret-0123456789';
const EXPIRY_SECONDS = 3;

beforeAll(async () => {
  stack = await startStack({ orderExpirySeconds: EXPIRY_SECONDS });
  simulator = await startGatewaySimulator({ merchantId, secret });
  await createGatewayChannel(stack, { code: channel, name: 'Simulated gateway', gatewayUrl: simulator.url, merchantId, secret });
});
afterAll(async () => {
  await simulator?.close();
  await stack?.close();
});

describe('generic gateway', () => {
  it('pays through the simulator: signed redirect, signed callback, provisioned once; secrets never shown', async () => {
    const userId = newUserId('gw');
    const pkg = await buyablePackage(stack);
    const placed = await placeOrder(stack, userId, pkg.code, channel);
    expect(placed.paymentUrl).toMatch(new RegExp(`^${simulator.url}/pay\\?`));
    const paid = (await (await fetch(placed.paymentUrl)).json()) as any;
    expect(paid.callbackStatus).toBe(200);
    expect(paid.callbackBody).toEqual({ code: 'success', result: 'signalled' });
    await waitForOrder(stack, placed.id, ['completed']);
    expect(await provisionedState(stack, placed.id)).toEqual({ periods: 1, payments: 1, grants: 1 });

    const channels = expectStatus(await stack.call('GET', '/v1/payment-channels', { as: 'anonymous' }), 200, 'channels');
    expect(JSON.stringify(channels)).not.toContain(secret);
    const admin = expectStatus(await stack.call('GET', `/v1/admin/payment-channels/${channel}`, { as: 'admin' }), 200, 'channel');
    expect(admin.config).toEqual({ gatewayUrl: simulator.url, merchantId, secret: '***' });

    // The same callback again (a gateway retry) is acknowledged and changes nothing.
    const again = await stack.call('POST', `/v1/webhooks/gateway/${channel}`, { as: 'anonymous', idempotencyKey: null, rawBody: JSON.stringify(paid.callback) });
    expect(again.body).toEqual({ code: 'success', result: 'duplicate' });

    // Refund through the gateway's signed refund call.
    const refund = await stack.call('POST', `/v1/admin/orders/${placed.id}/refund`, { as: 'admin', body: { reason: 'test' } });
    expect(refund.status).toBe(202);
    await waitForOrder(stack, placed.id, ['refunded']);
    expect(simulator.refunds.map((r) => r.out_trade_no)).toContain(placed.id);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('rejects a callback with a wrong amount or a wrong signature, and changes nothing', async () => {
    const userId = newUserId('gwbad');
    const pkg = await buyablePackage(stack);
    const placed = await placeOrder(stack, userId, pkg.code, channel);
    const tampered = (await (await fetch(`${placed.paymentUrl}&tamper=amount`)).json()) as any;
    expect(tampered.callbackStatus).toBe(400);
    expect(tampered.callbackBody.error.code).toBe('WEBHOOK_SIGNATURE_INVALID');

    const params = { merchant_id: merchantId, out_trade_no: placed.id, trade_no: 'x1', amount: '1', currency: 'USD', status: 'success', timestamp: String(Math.floor(Date.now() / 1000)) };
    const wrongAmount = await stack.call('POST', `/v1/webhooks/gateway/${channel}`, { as: 'anonymous', idempotencyKey: null, rawBody: JSON.stringify(withSignature(params, secret)) });
    expect([wrongAmount.status, wrongAmount.body.error.code]).toEqual([400, 'PAYMENT_MISMATCH']);
    const forged = await stack.call('POST', `/v1/webhooks/gateway/${channel}`, {
      as: 'anonymous',
      idempotencyKey: null,
      rawBody: JSON.stringify(withSignature({ ...params, amount: String(placed.amountMinor) }, 'not-the-secret-at-all')),
    });
    expect([forged.status, forged.body.error.code]).toEqual([400, 'WEBHOOK_SIGNATURE_INVALID']);
    expect(await stack.db.paymentEvent.count({ where: { orderId: placed.id } })).toBe(0);
    expect((await stack.db.order.findUniqueOrThrow({ where: { id: placed.id } })).status).toBe('pending_payment');
  });
});

describe('unpaid orders', () => {
  it('expire after the configured time', async () => {
    const userId = newUserId('expire');
    const pkg = await buyablePackage(stack);
    const placed = await placeOrder(stack, userId, pkg.code);
    const expired = await waitForOrder(stack, placed.id, ['expired']);
    expect(expired.closedAt).not.toBeNull();
    await stack.temporal.workflow.getHandle(orderWorkflowId(placed.id)).result();
  });

  it('can be cancelled by their user while unpaid, not twice, not by another user', async () => {
    const userId = newUserId('cancel');
    const pkg = await buyablePackage(stack);
    const placed = await placeOrder(stack, userId, pkg.code);
    const other = await stack.call('POST', `/v1/me/orders/${placed.id}/cancel`, { as: { user: newUserId('other') }, body: {} });
    expect(other.status).toBe(404);
    const cancelled = await stack.call('POST', `/v1/me/orders/${placed.id}/cancel`, { as: { user: userId }, body: {} });
    expect([cancelled.status, cancelled.body.status]).toEqual([200, 'cancelled']);
    const twice = await stack.call('POST', `/v1/me/orders/${placed.id}/cancel`, { as: { user: userId }, body: {} });
    expect([twice.status, twice.body.error.code]).toEqual([409, 'ORDER_STATE_CONFLICT']);
    await stack.temporal.workflow.getHandle(orderWorkflowId(placed.id)).result();
    const mine = expectStatus(await stack.call('GET', '/v1/me/orders', { as: { user: userId } }), 200, 'orders');
    expect(mine.items.map((o: { id: string }) => o.id)).toEqual([placed.id]);
  });

  it('late payment rule: provisioned if still possible (a package withdrawn since included), refunded if not', async () => {
    const userId = newUserId('late');
    const pkg = await buyablePackage(stack);
    const withdrawn = await buyablePackage(stack);
    const permanent = await buyablePackage(stack, { type: 'permanent', durationDays: null });
    const stillSold = await placeOrder(stack, userId, pkg.code);
    const sinceWithdrawn = await placeOrder(stack, userId, withdrawn.code);
    const ownedMeanwhile = await placeOrder(stack, userId, permanent.code);
    for (const order of [stillSold, sinceWithdrawn, ownedMeanwhile]) {
      await waitForOrder(stack, order.id, ['expired']);
      await stack.temporal.workflow.getHandle(orderWorkflowId(order.id)).result();
    }
    expectStatus(await updatePackage(stack, withdrawn.id, { status: 'disabled' }), 200, 'withdraw');
    expectStatus(await stack.call('POST', `/v1/admin/users/${userId}/packages`, { as: 'admin', body: { packageCode: permanent.code } }), 201, 'gift');

    for (const order of [stillSold, sinceWithdrawn, ownedMeanwhile]) await postStripeEvent(stack, sessionEvent('checkout.session.completed', order));
    await waitForOrder(stack, stillSold.id, ['completed']);
    await waitForOrder(stack, sinceWithdrawn.id, ['completed']);
    const refunded = await waitForOrder(stack, ownedMeanwhile.id, ['refunded']);
    expect(refunded.failureReason).toMatch(/ALREADY_OWNED/);
    expect(await provisionedState(stack, stillSold.id)).toEqual({ periods: 1, payments: 1, grants: 1 });
    expect(await provisionedState(stack, sinceWithdrawn.id)).toEqual({ periods: 1, payments: 1, grants: 1 });
    expect(await provisionedState(stack, ownedMeanwhile.id)).toEqual({ periods: 0, payments: 1, grants: 0 });
  });
});
