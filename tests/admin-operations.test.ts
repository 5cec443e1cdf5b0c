/**
 * The operator endpoints: reservations by user and status (holds past their deadline included), a
 * grant's ledger (keyset-paginated), and the invariant check for one user (reports, changes nothing).
 * Access and invalid input are covered endpoint by endpoint in access-and-validation.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { grantCredits, newUserId, startStack, type TestStack } from './support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

async function reserve(userId: string, holdSeconds = 600) {
  const response = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', holdSeconds } });
  expect(response.status).toBe(201);
  return response.body as { id: string };
}

describe('GET /v1/admin/reservations', () => {
  it("lists a user's reservations by status, newest first, and pages through them", async () => {
    const userId = newUserId('ops');
    await grantCredits(stack.db, userId, 1000);
    const first = await reserve(userId);
    const second = await reserve(userId);
    const third = await reserve(userId);
    expect((await stack.call('POST', `/v1/internal/reservations/${second.id}/release`, { body: {} })).status).toBe(200);

    const held = await stack.call('GET', `/v1/admin/reservations?userId=${userId}&status=held`, { as: 'admin' });
    expect(held.status).toBe(200);
    expect(held.body.items.map((r: { id: string }) => r.id)).toEqual([third.id, first.id]);

    const pages: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: Array<{ id: string }>; nextCursor: string | null } } = await stack.call(
        'GET',
        `/v1/admin/reservations?userId=${userId}&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        { as: 'admin' },
      );
      pages.push(...page.body.items.map((r) => r.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(pages).toEqual([third.id, second.id, first.id]);
  });

  it('pastDeadline=true lists holds still held after their deadline (as while no worker releases them)', async () => {
    const userId = newUserId('ops-stuck');
    await grantCredits(stack.db, userId, 100);
    const stuck = await reserve(userId, 600);
    const fresh = await reserve(userId, 600);
    // The worker would release it at the deadline; move the deadline into the past in the database only.
    await stack.db.reservation.update({ where: { id: stuck.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const response = await stack.call('GET', `/v1/admin/reservations?userId=${userId}&pastDeadline=true`, { as: 'admin' });
    expect(response.status).toBe(200);
    expect(response.body.items.map((r: { id: string }) => r.id)).toEqual([stuck.id]);
    expect(response.body.items.map((r: { id: string }) => r.id)).not.toContain(fresh.id);
  });

  it('refuses a cursor it did not issue and pastDeadline with another status', async () => {
    const bad = await stack.call('GET', '/v1/admin/reservations?cursor=bm90LWEtY3Vyc29y', { as: 'admin' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].path).toBe('query.cursor');
    const contradictory = await stack.call('GET', '/v1/admin/reservations?status=committed&pastDeadline=true', { as: 'admin' });
    expect(contradictory.status).toBe(400);
  });
});

describe('GET /v1/admin/grants/:grantId/ledger', () => {
  it("lists a grant's entries in order, page by page, and 404 for an unknown grant", async () => {
    const userId = newUserId('ops-ledger');
    const grantId = await grantCredits(stack.db, userId, 100);
    for (let i = 0; i < 3; i++) {
      expect((await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' } })).status).toBe(201);
    }
    const seen: Array<{ entryType: string; amount: number }> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { status: number; body: { items: Array<{ entryType: string; amount: number; grantId: string }>; nextCursor: string | null } } = await stack.call(
        'GET',
        `/v1/admin/grants/${grantId}/ledger?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { as: 'admin' },
      );
      expect(page.status).toBe(200);
      for (const item of page.body.items) expect(item.grantId).toBe(grantId);
      seen.push(...page.body.items.map(({ entryType, amount }) => ({ entryType, amount })));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(2);
    expect(seen.map((e) => e.entryType)).toEqual(['grant', 'deduct', 'deduct', 'deduct']);
    const grant = await stack.db.userPackage.findUniqueOrThrow({ where: { id: grantId } });
    expect(seen.reduce((sum, e) => sum + e.amount, 0)).toBe(grant.totalCredits - grant.usedCredits - grant.reservedCredits);

    const missing = await stack.call('GET', `/v1/admin/grants/${randomUUID()}/ledger`, { as: 'admin' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
  });
});

describe('GET /v1/admin/users/:userId/invariant', () => {
  it('reports ok for a consistent user, lists a broken grant, and changes nothing', async () => {
    const userId = newUserId('ops-invariant');
    const grantId = await grantCredits(stack.db, userId, 50);
    expect((await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' } })).status).toBe(201);

    const ok = await stack.call('GET', `/v1/admin/users/${userId}/invariant`, { as: 'admin' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ userId, ok: true, grantsChecked: 1, mismatches: [] });

    // Break it the way only a bug or a hand edit could: change a balance column without a ledger entry.
    await stack.db.$executeRaw`UPDATE user_packages SET total_credits = total_credits + 7 WHERE id = ${grantId}::uuid`;
    const before = await stack.db.userPackage.findUniqueOrThrow({ where: { id: grantId } });
    const broken = await stack.call('GET', `/v1/admin/users/${userId}/invariant`, { as: 'admin' });
    expect(broken.status).toBe(200);
    expect(broken.body.ok).toBe(false);
    expect(broken.body.mismatches).toEqual([
      expect.objectContaining({ grantId, available: broken.body.mismatches[0].ledgerAvailable + 7 }),
    ]);
    expect(await stack.db.userPackage.findUniqueOrThrow({ where: { id: grantId } })).toEqual(before);
    // Put it back so the suite's global invariant checks stay meaningful.
    await stack.db.$executeRaw`UPDATE user_packages SET total_credits = total_credits - 7 WHERE id = ${grantId}::uuid`;

    const nobody = await stack.call('GET', `/v1/admin/users/${newUserId('nobody')}/invariant`, { as: 'admin' });
    expect(nobody.body).toMatchObject({ ok: true, grantsChecked: 0, mismatches: [] });
  });
});
