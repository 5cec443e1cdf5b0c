/**
 * Orders end to end on the real stack (PostgreSQL, Temporal dev server, worker, API, stripe-mock):
 * Stripe webhooks signed like Stripe signs them, manual mark-paid, renewals, the saga, refunds.
 */
import { Connection, Client } from '@temporalio/client';
import type { AddressInfo } from 'node:net';
import { createApp } from '../api/app';
import { createLogger } from '../platform/logger';
import { placeOrder as placeOrderRow } from '../modules/orders/store';
import { OrderWorkflowClient } from '../modules/orders/workflow-client';
import { orderWorkflowId } from '../workflows/order-contract';
import { lifecycleStateQuery, packageLifecycleWorkflowId, subscriptionLifecycleWorkflowId } from '../workflows/package-lifecycle-contract';
import { expectStatus, updatePackage } from './support/fixtures';
import {
  buyablePackage,
  placeOrder,
  postStripeEvent,
  provisionedState,
  sessionEvent,
  waitForOrder,
  waitForRunToClose,
} from './support/orders';
import { expectLedgerInvariant, newUserId, startStack, type TestStack } from './support/stack';
import { waitFor } from './support/wait';
import { allReplayed, replayAll } from './support/replay';

let stack: TestStack;
const workflowIds: string[] = [];

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

async function order(userId: string, packageCode: string, channel = 'stripe') {
  const placed = await placeOrder(stack, userId, packageCode, channel);
  workflowIds.push(orderWorkflowId(placed.id));
  return placed;
}

describe('paid by Stripe webhook', () => {
  it('opens a Checkout session, and a signed completed event provisions subscription and credits once', async () => {
    const userId = newUserId('buyer');
    const pkg = await buyablePackage(stack);
    const placed = await order(userId, pkg.code);
    expect(placed).toMatchObject({ status: 'pending_payment', amountMinor: 1000, currency: 'USD', channel: 'stripe' });
    expect(placed.paymentUrl).toMatch(/^https:\/\/checkout\.stripe\.com\//);

    const response = await postStripeEvent(stack, sessionEvent('checkout.session.completed', placed));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ code: 'success', result: 'signalled' });
    const completed = await waitForOrder(stack, placed.id, ['completed']);
    expect(completed.grantId).not.toBeNull();

    const subscriptions = expectStatus(await stack.call('GET', '/v1/me/subscriptions', { as: { user: userId } }), 200, 'subscriptions');
    expect(subscriptions.items).toHaveLength(1);
    expect(subscriptions.items[0]).toMatchObject({ status: 'active', packageId: pkg.id });
    const credits = expectStatus(await stack.call('GET', '/v1/me/credits', { as: { user: userId } }), 200, 'credits');
    expect(credits.availableCredits).toBe(100);
    const grant = await stack.db.userPackage.findUniqueOrThrow({ where: { id: completed.grantId! } });
    expect(grant.expiresAt?.toISOString()).toBe(subscriptions.items[0].currentPeriodEnd);
    expect(grant.priority).toBe(pkg.defaultPriority);

    // progress comes from the run's query (answered by a worker replaying the closed run); it is null
    // while no worker answers within the API's short bound, so ask again as a client would.
    const detail = await waitFor(async () => {
      const shown = expectStatus(await stack.call('GET', `/v1/me/orders/${placed.id}`, { as: { user: userId } }), 200, 'order');
      return shown.progress !== null && shown;
    }, 60_000, 'the order progress');
    expect(detail.status).toBe('completed');
    expect(detail.progress.steps.map((s: { name: string }) => s.name)).toEqual(
      expect.arrayContaining(['create_payment', 'record_payment', 'subscribe', 'grant_credits', 'complete']),
    );
    expect(await provisionedState(stack, placed.id)).toEqual({ periods: 1, payments: 1, grants: 1 });
    await expectLedgerInvariant(stack.db, userId);
  });

  it('the same event 5 times concurrently: provisioned once', async () => {
    const userId = newUserId('dup');
    const pkg = await buyablePackage(stack);
    const placed = await order(userId, pkg.code);
    const event = sessionEvent('checkout.session.completed', placed);
    const answers = await Promise.all(Array.from({ length: 5 }, () => postStripeEvent(stack, event)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    await waitForOrder(stack, placed.id, ['completed']);
    await waitForRunToClose(stack, orderWorkflowId(placed.id));
    expect(await provisionedState(stack, placed.id)).toEqual({ periods: 1, payments: 1, grants: 1 });
    expect(await stack.db.paymentEvent.count({ where: { eventId: event.id } })).toBe(1);
    const again = await postStripeEvent(stack, event);
    expect(again.body.result).toBe('duplicate');
    await expectLedgerInvariant(stack.db, userId);
  });

  it('the run is found by OrderId with its status: pending_payment while unpaid, completed once provisioned', async () => {
    const userId = newUserId('search');
    const pkg = await buyablePackage(stack);
    const placed = await order(userId, pkg.code);
    const statusOfRun = async (): Promise<string[]> => {
      const found: string[] = [];
      for await (const run of stack.temporal.workflow.list({ query: `OrderId = '${placed.id}' AND UserId = '${userId}'` })) {
        found.push(String(run.searchAttributes.OrderStatus?.[0] ?? 'none'));
      }
      return found;
    };
    await waitFor(async () => (await statusOfRun()).join() === 'pending_payment', 30_000, 'the run listed as pending_payment');
    await postStripeEvent(stack, sessionEvent('checkout.session.completed', placed));
    await waitForOrder(stack, placed.id, ['completed']);
    await waitForRunToClose(stack, orderWorkflowId(placed.id));
    // The run publishes its status when it waits or ends (workflows/order.ts): the last one is `completed`.
    await waitFor(async () => (await statusOfRun()).join() === 'completed', 30_000, 'the run listed as completed');
  });

  it('an event before the workflow exists is not lost (signal-with-start)', async () => {
    const userId = newUserId('early');
    const pkg = await buyablePackage(stack);
    // The order row exists, but no workflow was started for it (as if the API died right after the insert).
    const { body: placed } = await placeOrderRow(stack.db, { userId, packageCode: pkg.code, channel: 'stripe' }, 1800, { scope: 'test', key: `early-${userId}`, requestHash: 'h' }, 'test');
    workflowIds.push(orderWorkflowId(placed.id));
    const response = await postStripeEvent(stack, sessionEvent('checkout.session.completed', placed));
    expect(response.body.result).toBe('signalled');
    await waitForOrder(stack, placed.id, ['completed']);
    expect(await provisionedState(stack, placed.id)).toEqual({ periods: 1, payments: 1, grants: 1 });
  });

  it('out of order: async_payment_succeeded before completed provisions once', async () => {
    const userId = newUserId('ooo');
    const pkg = await buyablePackage(stack);
    const placed = await order(userId, pkg.code);
    expect((await postStripeEvent(stack, sessionEvent('checkout.session.async_payment_succeeded', placed))).status).toBe(200);
    expect((await postStripeEvent(stack, sessionEvent('checkout.session.completed', placed))).status).toBe(200);
    await waitForOrder(stack, placed.id, ['completed']);
    await waitForRunToClose(stack, orderWorkflowId(placed.id));
    expect(await provisionedState(stack, placed.id)).toEqual({ periods: 1, payments: 1, grants: 1 });
  });

  it('a completed session still unpaid (async method) waits; async failure fails the order', async () => {
    const userId = newUserId('async');
    const pkg = await buyablePackage(stack);
    const placed = await order(userId, pkg.code);
    expect((await postStripeEvent(stack, sessionEvent('checkout.session.completed', placed, { paymentStatus: 'unpaid' }))).body.result).toBe('ignored');
    expect((await postStripeEvent(stack, sessionEvent('checkout.session.async_payment_failed', placed))).status).toBe(200);
    const failed = await waitForOrder(stack, placed.id, ['failed']);
    expect(failed.failureReason).toMatch(/payment failed/);
    expect(await provisionedState(stack, placed.id)).toEqual({ periods: 0, payments: 0, grants: 0 });
  });

  it('forged and stale signatures: 400 and nothing changes; unknown types are acknowledged', async () => {
    const userId = newUserId('forged');
    const pkg = await buyablePackage(stack);
    const placed = await order(userId, pkg.code);
    const event = sessionEvent('checkout.session.completed', placed);
    const forged = await postStripeEvent(stack, event, { secret: 'whsec_not_ours' });
    const stale = await postStripeEvent(stack, event, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    const unsigned = await stack.call('POST', '/v1/webhooks/stripe', { as: 'anonymous', rawBody: JSON.stringify(event), idempotencyKey: null });
    for (const response of [forged, stale, unsigned]) {
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('WEBHOOK_SIGNATURE_INVALID');
    }
    expect(await stack.db.paymentEvent.count({ where: { eventId: event.id } })).toBe(0);
    expect((await stack.db.order.findUniqueOrThrow({ where: { id: placed.id } })).status).toBe('pending_payment');
    const unknown = await postStripeEvent(stack, { id: `evt_unknown_${Date.now()}`, object: 'event', type: 'customer.created', data: { object: { id: 'cus_1' } } });
    expect(unknown.body).toEqual({ code: 'success', result: 'ignored' });
  });
});

describe('manual payments, renewal, duplicate guard', () => {
  it('an admin marks an order paid with a reason; the order workflow provisions it', async () => {
    const userId = newUserId('manual');
    const pkg = await buyablePackage(stack);
    const placed = await order(userId, pkg.code, 'manual');
    expect(placed.paymentUrl).toBeNull();
    const marked = await stack.call('POST', `/v1/admin/orders/${placed.id}/mark-paid`, { as: 'admin', body: { reason: 'bank transfer 2026-118' } });
    expect(marked.status).toBe(202);
    await waitForOrder(stack, placed.id, ['completed']);
    const payment = await stack.db.orderPayment.findUniqueOrThrow({ where: { orderId: placed.id } });
    expect(payment).toMatchObject({ source: 'manual', note: 'bank transfer 2026-118' });
  });

  it('a second unpaid order for the same package returns the first; a renewal extends from the current period end', async () => {
    const userId = newUserId('renew');
    const pkg = await buyablePackage(stack, { durationDays: 30 });
    const first = await order(userId, pkg.code);
    const again = await placeOrder(stack, userId, pkg.code);
    expect(again.id).toBe(first.id);
    await postStripeEvent(stack, sessionEvent('checkout.session.completed', first));
    await waitForOrder(stack, first.id, ['completed']);
    const before = await stack.db.subscription.findFirstOrThrow({ where: { userId, packageId: pkg.id } });

    const second = await order(userId, pkg.code);
    expect(second.id).not.toBe(first.id);
    await postStripeEvent(stack, sessionEvent('checkout.session.completed', second));
    await waitForOrder(stack, second.id, ['completed']);
    const after = await stack.db.subscription.findFirstOrThrow({ where: { userId, packageId: pkg.id }, include: { periods: true } });
    expect(after.id).toBe(before.id);
    expect(after.currentPeriodEnd!.getTime()).toBe(before.currentPeriodEnd!.getTime() + 30 * 86_400_000);
    const renewal = after.periods.find((p) => p.orderId === second.id)!;
    expect(renewal).toMatchObject({ kind: 'renewal', periodStart: before.currentPeriodEnd });
    const credits = expectStatus(await stack.call('GET', '/v1/me/credits', { as: { user: userId } }), 200, 'credits');
    expect(credits.availableCredits).toBe(200);
    await expectLedgerInvariant(stack.db, userId);
  });

  it("a paid order starts its grant's and subscription's timers with what it bought; a renewal moves the subscription's", async () => {
    const userId = newUserId('timers');
    const pkg = await buyablePackage(stack, { durationDays: 30 });
    const timerState = (workflowId: string) =>
      waitFor(() => stack.temporal.workflow.getHandle(workflowId).query(lifecycleStateQuery).catch(() => false as const), 30_000, `${workflowId} answering`);
    /** Reads of the subject in the timer's first workflow task (none when it was started with its snapshot). */
    const firstTaskReads = async (workflowId: string) => {
      const events = (await stack.temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      const firstTimer = events.findIndex((event) => event.timerStartedEventAttributes);
      expect(firstTimer).toBeGreaterThan(0);
      return events.slice(0, firstTimer).filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_local_activity').length;
    };

    const first = await order(userId, pkg.code);
    await postStripeEvent(stack, sessionEvent('checkout.session.completed', first));
    const paid = await waitForOrder(stack, first.id, ['completed']);
    const subscription = await stack.db.subscription.findUniqueOrThrow({ where: { id: paid.subscriptionId! } });
    const grant = await stack.db.userPackage.findUniqueOrThrow({ where: { id: paid.grantId! } });
    const subscriptionTimer = subscriptionLifecycleWorkflowId(subscription.id);
    expect(await timerState(subscriptionTimer)).toMatchObject({ phase: 'active', expiresAt: subscription.currentPeriodEnd!.toISOString(), expiryChanges: 0 });
    expect(await timerState(packageLifecycleWorkflowId(grant.id))).toMatchObject({ phase: 'active', expiresAt: grant.expiresAt!.toISOString() });
    expect(await firstTaskReads(subscriptionTimer)).toBe(0);
    expect(await firstTaskReads(packageLifecycleWorkflowId(grant.id))).toBe(0);

    const second = await order(userId, pkg.code);
    await postStripeEvent(stack, sessionEvent('checkout.session.completed', second));
    const renewed = await waitForOrder(stack, second.id, ['completed']);
    const after = await stack.db.subscription.findUniqueOrThrow({ where: { id: subscription.id } });
    expect(after.currentPeriodEnd!.getTime()).toBe(subscription.currentPeriodEnd!.getTime() + 30 * 86_400_000);
    // The same timer, signalled: it re-read the subscription and waits for the new period end.
    await waitFor(async () => (await timerState(subscriptionTimer)).expiresAt === after.currentPeriodEnd!.toISOString(), 30_000, 'the timer moved');
    expect(await timerState(subscriptionTimer)).toMatchObject({ phase: 'active', expiryChanges: 1, run: 1 });
    const renewalGrant = await stack.db.userPackage.findUniqueOrThrow({ where: { id: renewed.grantId! } });
    expect(await timerState(packageLifecycleWorkflowId(renewalGrant.id))).toMatchObject({ expiresAt: renewalGrant.expiresAt!.toISOString() });
  });

  it('a user holding an active permanent package cannot buy it again', async () => {
    const userId = newUserId('perm');
    const pkg = await buyablePackage(stack, { type: 'permanent', durationDays: null });
    const placed = await order(userId, pkg.code, 'manual');
    await stack.call('POST', `/v1/admin/orders/${placed.id}/mark-paid`, { as: 'admin', body: { reason: 'cash' } });
    await waitForOrder(stack, placed.id, ['completed']);
    const again = await stack.call('POST', '/v1/me/orders', { as: { user: userId }, body: { packageCode: pkg.code, channel: 'manual' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('ALREADY_OWNED');
  });

  it('refuses hidden packages and channels that do not take the currency', async () => {
    const userId = newUserId('checks');
    const hidden = await buyablePackage(stack, { visible: false });
    const euro = await buyablePackage(stack, { currency: 'JPY' });
    const a = await stack.call('POST', '/v1/me/orders', { as: { user: userId }, body: { packageCode: hidden.code, channel: 'stripe' } });
    const b = await stack.call('POST', '/v1/me/orders', { as: { user: userId }, body: { packageCode: euro.code, channel: 'stripe' } });
    expect([a.status, a.body.error.code]).toEqual([422, 'PACKAGE_UNAVAILABLE']);
    expect([b.status, b.body.error.code]).toEqual([422, 'CHANNEL_UNAVAILABLE']);
    expect(await stack.db.order.count({ where: { userId } })).toBe(0);
  });
});

describe('saga and refunds', () => {
  it('a payment provisioning refuses (the permanent package was given meanwhile) is refunded and the order closed refunded', async () => {
    const userId = newUserId('saga');
    const pkg = await buyablePackage(stack, { type: 'permanent', durationDays: null });
    const placed = await order(userId, pkg.code);
    expectStatus(await stack.call('POST', `/v1/admin/users/${userId}/packages`, { as: 'admin', body: { packageCode: pkg.code } }), 201, 'gift');
    await postStripeEvent(stack, sessionEvent('checkout.session.completed', placed));
    const refunded = await waitForOrder(stack, placed.id, ['refunded', 'failed', 'completed']);
    expect(refunded.status).toBe('refunded');
    expect(refunded.failureReason).toMatch(/ALREADY_OWNED/);
    expect(await provisionedState(stack, placed.id)).toEqual({ periods: 0, payments: 1, grants: 0 });
    const detail = expectStatus(await stack.call('GET', `/v1/admin/orders/${placed.id}`, { as: 'admin' }), 200, 'order');
    expect(detail.progress.steps.map((s: { name: string }) => s.name)).toEqual(expect.arrayContaining(['revoke_provisioning', 'refund_payment', 'close_refunded']));
  });

  it('a partial then the rest: revoked in proportion, never below zero, shortfall recorded', async () => {
    const userId = newUserId('refund');
    const pkg = await buyablePackage(stack, { creditsAmount: 100, priceMinor: 1000 });
    const placed = await order(userId, pkg.code);
    await postStripeEvent(stack, sessionEvent('checkout.session.completed', placed));
    await waitForOrder(stack, placed.id, ['completed']);
    const action = await stack.db.actionPrice.findUniqueOrThrow({ where: { actionKey: 'ai_chat' } });
    for (let i = 0; i < 4; i++) {
      expectStatus(await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: action.actionKey, quantity: 20 } }), 201, 'spend');
    }
    // 80 of 100 credits spent, 20 left. A 25% refund asks for 25: 20 revoked, 5 shortfall.
    const partial = await stack.call('POST', `/v1/admin/orders/${placed.id}/refund`, { as: 'admin', body: { amountMinor: 250, reason: 'service outage' } });
    expect(partial.status).toBe(202);
    await waitForRefund(partial.body.id);
    let refunds = expectStatus(await stack.call('GET', `/v1/admin/orders/${placed.id}/refunds`, { as: 'admin' }), 200, 'refunds').items;
    expect(refunds[0]).toMatchObject({ status: 'succeeded', amountMinor: 250, creditsRevoked: 20, creditsShortfall: 5, secondsRevoked: 30 * 86_400 / 4 });
    expect((await stack.db.order.findUniqueOrThrow({ where: { id: placed.id } })).status).toBe('partially_refunded');

    const tooMuch = await stack.call('POST', `/v1/admin/orders/${placed.id}/refund`, { as: 'admin', body: { amountMinor: 751, reason: 'x' } });
    expect([tooMuch.status, tooMuch.body.error.code]).toEqual([409, 'REFUND_EXCEEDS_PAYMENT']);

    const rest = await stack.call('POST', `/v1/admin/orders/${placed.id}/refund`, { as: 'admin', body: { reason: 'customer left' } });
    expect(rest.body.amountMinor).toBe(750);
    await waitForRefund(rest.body.id);
    refunds = expectStatus(await stack.call('GET', `/v1/admin/orders/${placed.id}/refunds`, { as: 'admin' }), 200, 'refunds').items;
    expect(refunds[1]).toMatchObject({ status: 'succeeded', creditsRevoked: 0, creditsShortfall: 75 });
    const final = await stack.db.order.findUniqueOrThrow({ where: { id: placed.id } });
    expect(final).toMatchObject({ status: 'refunded', refundedMinor: 1000 });
    const subscription = await stack.db.subscription.findFirstOrThrow({ where: { userId } });
    expect(subscription.status).toBe('cancelled');
    const grant = await stack.db.userPackage.findUniqueOrThrow({ where: { id: final.grantId! } });
    expect(grant.status).toBe('revoked');
    await expectLedgerInvariant(stack.db, userId);
  });

  it('a full refund of an unspent order takes back all its credits', async () => {
    const userId = newUserId('fullrefund');
    const pkg = await buyablePackage(stack, { creditsAmount: 40, priceMinor: 500 });
    const placed = await order(userId, pkg.code);
    await postStripeEvent(stack, sessionEvent('checkout.session.completed', placed));
    await waitForOrder(stack, placed.id, ['completed']);
    const refund = await stack.call('POST', `/v1/admin/orders/${placed.id}/refund`, { as: 'admin', body: { reason: 'duplicate purchase' } });
    await waitForRefund(refund.body.id);
    const settled = await stack.db.orderRefund.findUniqueOrThrow({ where: { id: refund.body.id } });
    expect(settled).toMatchObject({ creditsRevoked: 40, creditsShortfall: 0 });
    expect(settled.gatewayRefundId).toMatch(/^re_/); // answered by stripe-mock through the SDK
    const credits = expectStatus(await stack.call('GET', '/v1/me/credits', { as: { user: userId } }), 200, 'credits');
    expect(credits.availableCredits).toBe(0);
    await expectLedgerInvariant(stack.db, userId);
  });
});

async function waitForRefund(refundId: string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const refund = await stack.db.orderRefund.findUniqueOrThrow({ where: { id: refundId } });
    if (refund.status !== 'pending') return refund;
    if (Date.now() > deadline) throw new Error(`refund ${refundId} still pending`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('failures around Temporal', () => {
  it('the worker stopped between payment and provisioning: provisioned exactly once after restart', async () => {
    const userId = newUserId('restart');
    const pkg = await buyablePackage(stack);
    const placed = await order(userId, pkg.code);
    await stack.stopWorker();
    try {
      const event = sessionEvent('checkout.session.completed', placed);
      expect((await postStripeEvent(stack, event)).body.result).toBe('signalled');
      expect((await postStripeEvent(stack, event)).body.result).toBe('duplicate');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect((await stack.db.order.findUniqueOrThrow({ where: { id: placed.id } })).status).toBe('pending_payment');
    } finally {
      await stack.startWorker();
    }
    await waitForOrder(stack, placed.id, ['completed']);
    await waitForRunToClose(stack, orderWorkflowId(placed.id));
    expect(await provisionedState(stack, placed.id)).toEqual({ periods: 1, payments: 1, grants: 1 });
  });

  it('Temporal unreachable: the webhook answers 503 and the retry succeeds', async () => {
    const userId = newUserId('down');
    const pkg = await buyablePackage(stack);
    const placed = await order(userId, pkg.code);
    // The same API, but its Temporal client points at a port where nothing listens.
    const deadConnection = Connection.lazy({ address: '127.0.0.1:1' });
    const deadTemporal = new Client({ connection: deadConnection });
    const deadDeps = { ...stack.deps, temporal: deadTemporal, orders: new OrderWorkflowClient({ temporal: deadTemporal, taskQueue: stack.taskQueue, callTimeoutMs: 1_000 }) };
    const server = createApp(deadDeps, createLogger('test', 'silent')).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const event = sessionEvent('checkout.session.completed', placed);
    const payload = JSON.stringify(event);
    const signature = stack.deps.payments.stripe.webhooks.generateTestHeaderString({ payload, secret: stack.deps.payments.stripeWebhookSecret });
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/webhooks/stripe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': signature },
        body: payload,
      });
      expect(response.status).toBe(503);
      expect(((await response.json()) as any).error.code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await deadConnection.close().catch(() => undefined);
    }
    // Stored but not signalled: Stripe's retry signals it.
    expect(await stack.db.paymentEvent.count({ where: { eventId: event.id, signalledAt: null } })).toBe(1);
    const retry = await postStripeEvent(stack, event);
    expect(retry.body.result).toBe('signalled');
    await waitForOrder(stack, placed.id, ['completed']);
  });
});

describe('determinism', () => {
  it('replays the recorded histories of this file’s order runs', async () => {
    const histories = [];
    // Closed runs and runs still waiting for payment alike: a partial history must replay too.
    for (const workflowId of workflowIds.slice(0, 8)) {
      histories.push({ workflowId, history: await stack.temporal.workflow.getHandle(workflowId).fetchHistory() });
    }
    expect(await replayAll(histories)).toEqual(allReplayed(histories));
  });
});
