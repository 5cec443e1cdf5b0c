import { randomUUID } from 'node:crypto';
import { balances, expectLedgerInvariant, grantCredits, newUserId, startStack, type TestStack } from './support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ withWorker: false });
});
afterAll(async () => {
  await stack?.close();
});

const DAY = 86_400_000;

describe('direct deduct', () => {
  it('burns down across three grants of mixed priority and expiry', async () => {
    const userId = newUserId();
    const lowPriorityNeverExpires = await grantCredits(stack.db, userId, 5, { priority: 200, expiresAt: null });
    const highPriorityLate = await grantCredits(stack.db, userId, 2, { priority: 10, expiresAt: new Date(Date.now() + 20 * DAY) });
    const highPrioritySoon = await grantCredits(stack.db, userId, 2, { priority: 10, expiresAt: new Date(Date.now() + 2 * DAY) });

    // advanced_analysis costs 3 credits: soonest-expiring high-priority grant first, then the later one.
    const first = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'advanced_analysis' } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ userId, actionKey: 'advanced_analysis', quantity: 1, unitPrice: 3, creditsCost: 3 });
    expect(first.body.allocations).toEqual([
      { grantId: highPrioritySoon, credits: 2 },
      { grantId: highPriorityLate, credits: 1 },
    ]);

    const second = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'advanced_analysis' } });
    expect(second.body.allocations).toEqual([
      { grantId: highPriorityLate, credits: 1 },
      { grantId: lowPriorityNeverExpires, credits: 2 },
    ]);

    const byId = Object.fromEntries((await balances(stack.db, userId)).map((b) => [b.id, b]));
    expect(byId[highPrioritySoon]).toMatchObject({ used: 2, available: 0, status: 'depleted' });
    expect(byId[highPriorityLate]).toMatchObject({ used: 2, available: 0, status: 'depleted' });
    expect(byId[lowPriorityNeverExpires]).toMatchObject({ used: 2, available: 3, status: 'active' });
    await expectLedgerInvariant(stack.db, userId);
  });

  it('skips pending, expired and not-yet-started grants', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 50, { status: 'pending', priority: 1 });
    await grantCredits(stack.db, userId, 50, { priority: 1, expiresAt: new Date(Date.now() - 1000) });
    await grantCredits(stack.db, userId, 50, { priority: 1, startsAt: new Date(Date.now() + DAY) });
    const usable = await grantCredits(stack.db, userId, 1, { priority: 500 });

    const check = await stack.call('POST', '/v1/internal/credits/check', { body: { userId, actionKey: 'ai_chat', quantity: 2 } });
    expect(check.body).toMatchObject({ required: 2, available: 1, sufficient: false });

    const ok = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' } });
    expect(ok.status).toBe(201);
    expect(ok.body.allocations).toEqual([{ grantId: usable, credits: 1 }]);

    const refused = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' } });
    expect(refused.status).toBe(402);
    expect(refused.body).toEqual({
      error: { code: 'INSUFFICIENT_CREDITS', message: expect.any(String), details: expect.objectContaining({ required: 1, available: 0, shortfall: 1 }) },
    });
    await expectLedgerInvariant(stack.db, userId);
  });

  it('gives exactly 20 successes and 12 INSUFFICIENT_CREDITS for 32 concurrent deducts against 20 credits', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 8, { priority: 1 });
    await grantCredits(stack.db, userId, 12, { priority: 2, expiresAt: new Date(Date.now() + DAY) });

    const responses = await Promise.all(
      Array.from({ length: 32 }, () => stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' } })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(20);
    expect(statuses.filter((s) => s === 402)).toHaveLength(12);
    for (const refused of responses.filter((r) => r.status === 402)) expect(refused.body.error.code).toBe('INSUFFICIENT_CREDITS');

    expect((await balances(stack.db, userId)).map((b) => [b.used, b.available, b.status])).toEqual([
      [8, 0, 'depleted'],
      [12, 0, 'depleted'],
    ]);
    expect(await stack.db.consumptionRecord.count({ where: { userId } })).toBe(20);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('replays a retry with the same key and rejects the key with other parameters', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 10);
    const key = randomUUID();
    const body = { userId, actionKey: 'pdf_export', quantity: 2 };

    const first = await stack.call('POST', '/v1/internal/credits/deduct', { body, idempotencyKey: key });
    const retries = await Promise.all(
      Array.from({ length: 5 }, () => stack.call('POST', '/v1/internal/credits/deduct', { body: { quantity: 2, actionKey: 'pdf_export', userId }, idempotencyKey: key })),
    );
    expect(first.status).toBe(201);
    for (const retry of retries) {
      expect(retry.status).toBe(201);
      expect(retry.body).toEqual(first.body);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
    }

    const reused = await stack.call('POST', '/v1/internal/credits/deduct', { body: { ...body, quantity: 3 }, idempotencyKey: key });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');

    expect((await balances(stack.db, userId))[0]).toMatchObject({ used: 2, available: 8 });
    expect(await stack.db.consumptionRecord.count({ where: { userId } })).toBe(1);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('requires an idempotency key on mutating calls and changes nothing without one', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 10);
    const response = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' }, idempotencyKey: null });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('IDEMPOTENCY_KEY_REQUIRED');
    expect((await balances(stack.db, userId))[0]).toMatchObject({ used: 0, available: 10 });
  });

  it('snapshots the unit price so a later price change never rewrites history', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 100);
    await stack.db.actionPrice.upsert({
      where: { actionKey: 'snapshot_probe' },
      create: { actionKey: 'snapshot_probe', name: 'Snapshot probe', creditsPerUnit: 2 },
      update: { creditsPerUnit: 2, status: 'active' },
    });
    const before = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'snapshot_probe', quantity: 3 } });
    await stack.db.actionPrice.update({ where: { actionKey: 'snapshot_probe' }, data: { creditsPerUnit: 5 } });
    const after = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'snapshot_probe' } });

    const stored = await stack.db.consumptionRecord.findUniqueOrThrow({ where: { id: before.body.id } });
    expect([stored.unitPrice, stored.creditsCost]).toEqual([2, 6]);
    expect([after.body.unitPrice, after.body.creditsCost]).toEqual([5, 5]);

    await stack.db.actionPrice.update({ where: { actionKey: 'snapshot_probe' }, data: { status: 'disabled' } });
    const disabled = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'snapshot_probe' } });
    expect(disabled.status).toBe(422);
    expect(disabled.body.error.code).toBe('ACTION_DISABLED');
    await expectLedgerInvariant(stack.db, userId);
  });
});
