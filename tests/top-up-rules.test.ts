/**
 * Top-up rules (modules/topups/top-up-rules.ts): the user's and the admin's endpoints, the validation
 * codes (package not on sale, currency not supported, cap below one purchase), one rule per user under
 * concurrency, and the audit trail.
 */
import { randomUUID } from 'node:crypto';
import { newUserId, startStack, type TestStack } from './support/stack';
import { createPackage, updatePackage } from './support/fixtures';
import { setPrices } from './support/commerce';

let stack: TestStack;
let credits100: { id: string; code: string };

beforeAll(async () => {
  stack = await startStack({ withWorker: false });
  credits100 = await createPackage(stack, { type: 'credits', creditsAmount: 100, priceMinor: 1000, currency: 'USD' });
  await setPrices(stack, credits100.id, [{ currency: 'EUR', amountMinor: 900 }]);
});
afterAll(async () => {
  await stack?.close();
});

function mine(userId: string, method: 'GET' | 'POST' | 'DELETE', path = '', body?: unknown, idempotencyKey?: string) {
  return stack.call(method, `/v1/me/top-up-rules${path}`, { as: { user: userId }, ...(body === undefined ? {} : { body }), ...(idempotencyKey ? { idempotencyKey } : {}) });
}

function ruleBody(extra: Record<string, unknown> = {}) {
  return { thresholdCredits: 20, packageCode: credits100.code, maxTopUpsPerMonth: 3, ...extra };
}

describe('top-up rules', () => {
  it('a user creates, reads, lists, pauses, resumes and deletes their rule, each write audited', async () => {
    const userId = newUserId('topup');
    const created = await mine(userId, 'POST', '', ruleBody({ currency: 'EUR', maxAmountMinorPerMonth: 2700 }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      userId,
      thresholdCredits: 20,
      packageCode: credits100.code,
      currency: 'EUR',
      maxTopUpsPerMonth: 3,
      maxAmountMinorPerMonth: 2700,
      status: 'active',
      pausedReason: null,
    });
    const ruleId = created.body.id as string;

    expect((await mine(userId, 'GET', `/${ruleId}`)).body).toEqual(created.body);
    expect((await mine(userId, 'GET')).body).toEqual({ items: [created.body] });

    const paused = await mine(userId, 'POST', `/${ruleId}/pause`, {});
    expect([paused.status, paused.body.status, paused.body.pausedReason]).toEqual([200, 'paused', 'by_user']);
    const resumed = await mine(userId, 'POST', `/${ruleId}/resume`, {});
    expect([resumed.status, resumed.body.status, resumed.body.pausedReason]).toEqual([200, 'active', null]);

    const deleted = await mine(userId, 'DELETE', `/${ruleId}`);
    expect([deleted.status, deleted.body.id]).toEqual([200, ruleId]);
    expect((await mine(userId, 'GET', `/${ruleId}`)).status).toBe(404);
    expect((await mine(userId, 'GET')).body).toEqual({ items: [] });

    const audit = await stack.db.auditEvent.findMany({ where: { entityType: 'top_up_rule', entityId: ruleId }, orderBy: { id: 'asc' } });
    expect(audit.map((event) => [event.action, event.actor])).toEqual([
      ['top_up_rule.created', `user:${userId}`],
      ['top_up_rule.paused', `user:${userId}`],
      ['top_up_rule.resumed', `user:${userId}`],
      ['top_up_rule.deleted', `user:${userId}`],
    ]);
  });

  it('refuses with clear codes: package unknown, not on sale or granting no credits; currency without a price; cap below one purchase; no cap', async () => {
    const userId = newUserId('topup-invalid');
    const hidden = await createPackage(stack, { type: 'credits', creditsAmount: 50, priceMinor: 500, currency: 'USD', visible: false });
    const noCredits = await createPackage(stack, { type: 'duration', creditsAmount: 0, durationDays: 30, priceMinor: 500, currency: 'USD' });
    const refusals = [
      [ruleBody({ packageCode: 'no_such_package' }), 404, 'NOT_FOUND'],
      [ruleBody({ packageCode: hidden.code }), 422, 'PACKAGE_UNAVAILABLE'],
      [ruleBody({ packageCode: noCredits.code }), 422, 'PACKAGE_UNAVAILABLE'],
      [ruleBody({ currency: 'JPY' }), 422, 'CURRENCY_NOT_SUPPORTED'],
      [ruleBody({ currency: 'XYZ' }), 422, 'CURRENCY_NOT_SUPPORTED'],
      [ruleBody({ maxTopUpsPerMonth: undefined, maxAmountMinorPerMonth: 999 }), 422, 'TOP_UP_CAP_TOO_LOW'],
      [ruleBody({ currency: 'EUR', maxAmountMinorPerMonth: 899 }), 422, 'TOP_UP_CAP_TOO_LOW'],
      [{ thresholdCredits: 20, packageCode: credits100.code }, 400, 'VALIDATION_FAILED'],
    ] as const;
    for (const [body, status, code] of refusals) {
      const refused = await mine(userId, 'POST', '', body);
      expect([JSON.stringify(body), refused.status, refused.body.error.code]).toEqual([JSON.stringify(body), status, code]);
    }
    const low = await mine(userId, 'POST', '', ruleBody({ currency: 'EUR', maxAmountMinorPerMonth: 899 }));
    expect(low.body.error.details).toEqual({ maxAmountMinorPerMonth: 899, priceMinor: 900, currency: 'EUR' });
    expect(await stack.db.topUpRule.count({ where: { userId } })).toBe(0);

    // A cap of exactly one purchase is enough.
    expect((await mine(userId, 'POST', '', ruleBody({ currency: 'EUR', maxAmountMinorPerMonth: 900 }))).status).toBe(201);
  });

  it('keeps one rule per user when 10 creates race under different keys', async () => {
    const userId = newUserId('topup-race');
    const answers = await Promise.all(Array.from({ length: 10 }, () => mine(userId, 'POST', '', ruleBody(), randomUUID())));
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, ...Array<number>(9).fill(409)]);
    expect(await stack.db.topUpRule.count({ where: { userId } })).toBe(1);
  });

  it('replays a create retried with the same key', async () => {
    const userId = newUserId('topup-retry');
    const key = randomUUID();
    const first = await mine(userId, 'POST', '', ruleBody(), key);
    const again = await mine(userId, 'POST', '', ruleBody(), key);
    expect([first.status, again.status, again.body.id]).toEqual([201, 201, first.body.id]);
  });

  it("hides one user's rule from another", async () => {
    const owner = newUserId('topup-owner');
    const other = newUserId('topup-other');
    const rule = (await mine(owner, 'POST', '', ruleBody())).body;
    expect((await mine(other, 'GET', `/${rule.id}`)).status).toBe(404);
    expect((await mine(other, 'POST', `/${rule.id}/pause`, {})).status).toBe(404);
    expect((await mine(other, 'DELETE', `/${rule.id}`)).status).toBe(404);
    expect((await mine(owner, 'GET', `/${rule.id}`)).body.status).toBe('active');
  });

  it('an admin manages a user’s rule; resuming checks the rule again', async () => {
    const userId = newUserId('topup-admin');
    const pkg = await createPackage(stack, { type: 'credits', creditsAmount: 30, priceMinor: 300, currency: 'USD' });
    const base = `/v1/admin/users/${userId}/top-up-rules`;
    const created = await stack.call('POST', base, { as: 'admin', body: ruleBody({ packageCode: pkg.code }) });
    expect(created.status).toBe(201);
    const ruleId = created.body.id as string;
    expect((await stack.call('GET', base, { as: 'admin' })).body.items.map((r: { id: string }) => r.id)).toEqual([ruleId]);

    const paused = await stack.call('POST', `${base}/${ruleId}/pause`, { as: 'admin', body: {} });
    expect([paused.body.status, paused.body.pausedReason]).toEqual(['paused', 'by_admin']);
    await updatePackage(stack, pkg.id, { status: 'disabled' });
    const refused = await stack.call('POST', `${base}/${ruleId}/resume`, { as: 'admin', body: {} });
    expect([refused.status, refused.body.error.code]).toEqual([422, 'PACKAGE_UNAVAILABLE']);
    expect((await stack.call('GET', `${base}/${ruleId}`, { as: 'admin' })).body.status).toBe('paused');

    expect((await stack.call('DELETE', `${base}/${ruleId}`, { as: 'admin' })).status).toBe(200);
    expect(await stack.db.topUpRule.count({ where: { userId } })).toBe(0);
  });
});

describe('a refusal while credits are on their way', () => {
  const deduct = (userId: string) => stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat', quantity: 1 } });
  /** A refill of the user's rule in the state a running refill workflow leaves it (no worker runs here). */
  async function refillUnderWay(userId: string, ruleId: string, outcome: 'pending' | 'requires_action') {
    const id = `top-up-${ruleId}-${randomUUID()}`;
    await stack.db.topUpRefill.create({
      data: { id, ruleId, userId, month: '2026-12', amountMinor: 1000, currency: 'USD', status: 'claimed', outcome, ...(outcome === 'requires_action' ? { actionUrl: 'https://bank.example/3ds?id=1' } : {}) },
    });
    return id;
  }

  it('says whether a refill is under way, with Retry-After only while one is pending; nothing without a rule', async () => {
    const withoutRule = await deduct(newUserId('topup-none'));
    expect(withoutRule.status).toBe(402);
    expect(withoutRule.body.error.details.topUp).toBeUndefined();
    expect(withoutRule.headers.get('retry-after')).toBeNull();

    const userId = newUserId('topup-coming');
    const rule = await mine(userId, 'POST', '', ruleBody());
    expect(rule.status).toBe(201);
    const idle = await deduct(userId);
    expect(idle.status).toBe(402);
    expect(idle.body.error.details.topUp).toEqual({ ruleId: rule.body.id, refillInFlight: false, refillId: null, outcome: null, actionUrl: null, retryAfterSeconds: null });
    expect(idle.headers.get('retry-after')).toBeNull();

    const waiting = await refillUnderWay(userId, rule.body.id, 'requires_action');
    const action = await deduct(userId);
    expect(action.body.error.details.topUp).toMatchObject({ refillInFlight: true, refillId: waiting, outcome: 'requires_action', actionUrl: 'https://bank.example/3ds?id=1', retryAfterSeconds: null });
    expect(action.headers.get('retry-after')).toBeNull();

    const pending = await refillUnderWay(userId, rule.body.id, 'pending');
    const coming = await deduct(userId);
    expect(coming.status).toBe(402);
    expect(coming.body.error.details.topUp).toMatchObject({ ruleId: rule.body.id, refillInFlight: true, refillId: pending, outcome: 'pending', retryAfterSeconds: 5 });
    expect(coming.headers.get('retry-after')).toBe('5');

    // The check answers the same state (200: no header), and another user's refill is not this user's.
    const check = await stack.call('POST', '/v1/internal/credits/check', { body: { userId, actionKey: 'ai_chat', quantity: 1 } });
    expect(check.body).toMatchObject({ sufficient: false, topUp: { refillId: pending, outcome: 'pending' } });
    const other = await deduct(newUserId('topup-other'));
    expect(other.body.error.details.topUp).toBeUndefined();
  });
});
