import { balances, expectLedgerInvariant, grantCredits, newUserId, startStack, type TestStack } from './support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('concurrency', () => {
  it('never spends more than the balance when reserves and deducts race', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 7, { priority: 1 });
    await grantCredits(stack.db, userId, 8, { priority: 2, expiresAt: new Date(Date.now() + 86_400_000) });

    // 10 reserves of 2 credits and 10 deducts of 1 credit against 15 credits.
    const calls = [
      ...Array.from({ length: 10 }, () =>
        stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity: 2 } }),
      ),
      ...Array.from({ length: 10 }, () => stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' } })),
    ];
    const responses = await Promise.all(calls);
    const granted = responses.filter((r) => r.status === 201);
    const refused = responses.filter((r) => r.status === 402);
    expect(granted.length + refused.length).toBe(20);
    const spentOrHeld = granted.reduce((sum, r) => sum + (r.body.creditsHeld ?? r.body.creditsCost), 0);
    expect(spentOrHeld).toBeLessThanOrEqual(15);
    // Whatever was refused could not have fitted in what was left.
    expect(15 - spentOrHeld).toBeLessThan(2);

    const totals = (await balances(stack.db, userId)).reduce(
      (acc, b) => ({ used: acc.used + b.used, reserved: acc.reserved + b.reserved }),
      { used: 0, reserved: 0 },
    );
    expect(totals.used + totals.reserved).toBe(spentOrHeld);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('settles a reservation exactly once when commit and release race', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 10);
    const held = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity: 4 } });
    const [commit, release] = await Promise.all([
      stack.call('POST', `/v1/internal/reservations/${held.body.id}/commit`, { body: { quantity: 3 } }),
      stack.call('POST', `/v1/internal/reservations/${held.body.id}/release`, { body: {} }),
    ]);
    const statuses = [commit.status, release.status].sort();
    expect(statuses).toEqual([200, 409]);
    const [grant] = await balances(stack.db, userId);
    if (commit.status === 200) expect(grant).toMatchObject({ used: 3, reserved: 0, available: 7 });
    else expect(grant).toMatchObject({ used: 0, reserved: 0, available: 10 });
    await expectLedgerInvariant(stack.db, userId);
  });

  it('lets a hold be committed after its grant expired meanwhile (the hold pins the credits)', async () => {
    const userId = newUserId();
    const grantId = await grantCredits(stack.db, userId, 10, { expiresAt: new Date(Date.now() + 60_000) });
    const held = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity: 4 } });
    await stack.db.userPackage.update({ where: { id: grantId }, data: { expiresAt: new Date(Date.now() - 1_000) } });

    const committed = await stack.call('POST', `/v1/internal/reservations/${held.body.id}/commit`, { body: { quantity: 2 } });
    expect(committed.status).toBe(200);
    expect(committed.body.consumption.creditsCost).toBe(2);
    // The 2 credits not committed go back to the lapsed grant, where nothing can spend them.
    const check = await stack.call('POST', '/v1/internal/credits/check', { body: { userId, actionKey: 'ai_chat' } });
    expect(check.body).toMatchObject({ available: 0, sufficient: false });
    expect((await balances(stack.db, userId))[0]).toMatchObject({ used: 2, reserved: 0, available: 8 });
    await expectLedgerInvariant(stack.db, userId);
  });
});
