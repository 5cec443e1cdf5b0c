/**
 * Gateway reconciliation on the real stack with the gateway simulator: each kind of mismatch planted
 * in the gateway's books and found; a stuck order re-driven from the report completes exactly once;
 * reports kept and listed; the Stripe comparison run against stripe-mock for shape; the daily Schedule
 * created idempotently.
 */
import { randomUUID } from 'node:crypto';
import { MISMATCH_KINDS } from '../modules/reconciliation/rules/reconciliation';
import { startGatewaySimulator, type GatewaySimulator } from '../scripts/services/gateway-simulator';
import { ensureReconciliationSchedule } from '../modules/reconciliation/schedule';
import { expectStatus } from './support/fixtures';
import { buyablePackage, placeOrder, provisionedState, waitForOrder, createGatewayChannel } from './support/orders';
import { expectLedgerInvariant, newUserId, startStack, type TestStack } from './support/stack';
import { waitFor } from './support/wait';

let stack: TestStack;
let simulator: GatewaySimulator;
const channel = `recon-${randomUUID().slice(0, 8)}`;
const merchantId = 'recon-merchant';
const secret = 'recon-gateway-secret-0123456789';

beforeAll(async () => {
  stack = await startStack();
  simulator = await startGatewaySimulator({ merchantId, secret });
  await createGatewayChannel(stack, { code: channel, name: 'Reconciled gateway', gatewayUrl: simulator.url, merchantId, secret });
});
afterAll(async () => {
  await simulator?.close();
  await stack?.close();
});

async function paidOrder(pkgCode: string) {
  const placed = await placeOrder(stack, newUserId('recon'), pkgCode, channel);
  const paid = (await (await fetch(placed.paymentUrl)).json()) as { callbackStatus: number };
  expect(paid.callbackStatus).toBe(200);
  await waitForOrder(stack, placed.id, ['completed']);
  return placed;
}

function reconcile(from: Date, to: Date, key = randomUUID(), target = channel) {
  return stack.call('POST', '/v1/admin/reconciliations', { as: 'admin', idempotencyKey: key, body: { channel: target, from: from.toISOString(), to: to.toISOString() } });
}

describe('gateway reconciliation', () => {
  it('finds every planted kind of mismatch, and a re-drive completes the stuck order exactly once', async () => {
    const from = new Date(Date.now() - 60_000);
    const pkg = await buyablePackage(stack);

    // paid_not_provisioned: the gateway took the money, its callback never came.
    const stuck = await placeOrder(stack, newUserId('stuck'), pkg.code, channel);
    const silent = (await (await fetch(`${stuck.paymentUrl}&simulate=silent`)).json()) as { paid: boolean };
    expect(silent.paid).toBe(true);
    // provisioned_without_payment: marked paid by an operator, the gateway never saw it.
    const ghost = await placeOrder(stack, newUserId('ghost'), pkg.code, channel);
    expectStatus(await stack.call('POST', `/v1/admin/orders/${ghost.id}/mark-paid`, { as: 'admin', body: { reason: 'said they paid' } }), 202, 'mark paid');
    await waitForOrder(stack, ghost.id, ['completed']);
    // Both sides know these payments; the gateway's books are then planted with a disagreement.
    const clean = await paidOrder(pkg.code);
    const amount = await paidOrder(pkg.code);
    simulator.trades.get(amount.id)!.amount += 5;
    const currency = await paidOrder(pkg.code);
    simulator.trades.get(currency.id)!.currency = 'EUR';
    const refundAtGateway = await paidOrder(pkg.code);
    simulator.trades.get(refundAtGateway.id)!.refunded = 300;
    const refundLocal = await paidOrder(pkg.code);
    const refund = expectStatus(await stack.call('POST', `/v1/admin/orders/${refundLocal.id}/refund`, { as: 'admin', body: { amountMinor: 200, reason: 'partial' } }), 202, 'refund');
    await waitFor(async () => (await stack.db.orderRefund.findUniqueOrThrow({ where: { id: refund.id } })).status === 'succeeded', 60_000, 'the refund to succeed');
    expect(simulator.trades.get(refundLocal.id)!.refunded).toBe(200);
    simulator.trades.get(refundLocal.id)!.refunded = 0; // the gateway lost it

    const to = new Date(Date.now() + 60_000);
    const key = randomUUID();
    const report = expectStatus(await reconcile(from, to, key), 201, 'reconcile');
    const found = report.mismatches.map((m: { kind: string; orderId: string }) => [m.kind, m.orderId]).sort();
    expect(found).toEqual(
      [
        ['paid_not_provisioned', stuck.id],
        ['provisioned_without_payment', ghost.id],
        ['amount_mismatch', amount.id],
        ['currency_mismatch', currency.id],
        ['refund_only_at_gateway', refundAtGateway.id],
        ['refund_only_local', refundLocal.id],
      ].sort(),
    );
    expect(found.some(([, orderId]: string[]) => orderId === clean.id)).toBe(false);
    expect(report).toMatchObject({ channel, localCount: 7, remoteCount: 6, mismatchCount: 6 });
    expect(report.trigger).toMatch(/^admin:admin:/);

    // The same key answers the same report; the reports are kept and listed.
    const again = expectStatus(await reconcile(from, to, key), 201, 'reconcile again');
    expect(again.id).toBe(report.id);
    const listed = expectStatus(await stack.call('GET', `/v1/admin/reconciliations?channel=${channel}`, { as: 'admin' }), 200, 'list');
    expect(listed.items.map((r: { id: string }) => r.id)).toEqual([report.id]);
    expect(expectStatus(await stack.call('GET', `/v1/admin/reconciliations/${report.id}`, { as: 'admin' }), 200, 'get').mismatches).toHaveLength(6);

    // Only a stuck payment can be re-driven.
    const amountMismatch = report.mismatches.find((m: { kind: string }) => m.kind === 'amount_mismatch');
    const notRedrivable = await stack.call('POST', `/v1/admin/reconciliations/${report.id}/mismatches/${amountMismatch.id}/redrive`, { as: 'admin', body: {} });
    expect([notRedrivable.status, notRedrivable.body.error.code]).toEqual([409, 'MISMATCH_NOT_REDRIVABLE']);

    // Re-drive the stuck order, twice at once: it completes, provisioned exactly once.
    const stuckMismatch = report.mismatches.find((m: { kind: string }) => m.kind === 'paid_not_provisioned');
    expect(stuckMismatch.redrivable).toBe(true);
    const redrives = await Promise.all(
      [1, 2].map(() => stack.call('POST', `/v1/admin/reconciliations/${report.id}/mismatches/${stuckMismatch.id}/redrive`, { as: 'admin', body: {} })),
    );
    expect(redrives.map((r) => r.status)).toEqual([202, 202]);
    await waitForOrder(stack, stuck.id, ['completed']);
    await stack.temporal.workflow.getHandle(`order-${stuck.id}`).result().catch(() => undefined);
    expect(await provisionedState(stack, stuck.id)).toEqual({ periods: 1, payments: 1, grants: 1 });
    const payment = await stack.db.orderPayment.findUniqueOrThrow({ where: { orderId: stuck.id } });
    expect(payment).toMatchObject({ source: 'gateway', externalId: simulator.trades.get(stuck.id)!.trade_no, amountMinor: stuck.amountMinor });
    const marked = expectStatus(await stack.call('GET', `/v1/admin/reconciliations/${report.id}`, { as: 'admin' }), 200, 'get');
    expect(marked.mismatches.find((m: { id: string }) => m.id === stuckMismatch.id).redrivenAt).not.toBeNull();
    await expectLedgerInvariant(stack.db, stuck.userId);

    // The next run no longer finds the stuck order.
    const next = expectStatus(await reconcile(from, new Date(Date.now() + 60_000)), 201, 'reconcile after re-drive');
    expect(next.mismatches.map((m: { kind: string }) => m.kind)).not.toContain('paid_not_provisioned');
  });

  it('runs the Stripe comparison through the SDK against stripe-mock (shape), and refuses a manual channel', async () => {
    const report = expectStatus(await reconcile(new Date('2020-01-01T00:00:00Z'), new Date('2020-01-02T00:00:00Z'), randomUUID(), 'stripe'), 201, 'stripe reconcile');
    expect(report.channel).toBe('stripe');
    expect(report.remoteCount).toBeGreaterThan(0); // stripe-mock's fixtures
    for (const mismatch of report.mismatches) expect(MISMATCH_KINDS).toContain(mismatch.kind);
    const manual = await reconcile(new Date('2020-01-01T00:00:00Z'), new Date('2020-01-02T00:00:00Z'), randomUUID(), 'manual');
    expect([manual.status, manual.body.error.code]).toEqual([422, 'CHANNEL_UNAVAILABLE']);
  });

  it('creates the daily Schedule idempotently', async () => {
    const scheduleId = `test-reconciliation-${randomUUID()}`;
    expect(await ensureReconciliationSchedule(stack.temporal, stack.taskQueue, { scheduleId })).toBe('created');
    expect(await ensureReconciliationSchedule(stack.temporal, stack.taskQueue, { scheduleId })).toBe('exists');
    const handle = stack.temporal.schedule.getHandle(scheduleId);
    const description = await handle.describe();
    expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'gatewayReconciliationWorkflow', taskQueue: stack.taskQueue });
    await handle.delete();
  });
});
