/**
 * The operator's catalog through the admin API: action prices (create, conflicts, idempotent
 * retries, reprice, disable/enable) and packages (type rules, show/hide, soft delete), and assigning
 * a package to a user (the grant, its expiry and its ledger entry).
 * Every key and code is unique per test: other files share the database and run in parallel.
 */
import { randomUUID } from 'node:crypto';
import { balances, expectLedgerInvariant, grantCredits, newUserId, startStack, type TestStack } from './support/stack';
import {
  assignPackage,
  createActionPrice,
  createPackage,
  deduct,
  deductOk,
  expectStatus,
  isoString,
  issuePaths,
  packageFields,
  uniqueKey,
  updateActionPrice,
  updatePackage,
  uuidString,
} from './support/fixtures';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ withWorker: false });
});
afterAll(async () => {
  await stack?.close();
});

const DAY = 86_400_000;

async function publicPrices(): Promise<Array<{ actionKey: string; name: string; creditsPerUnit: number }>> {
  return expectStatus(await stack.call('GET', '/v1/action-prices', { as: 'anonymous' }), 200, 'public prices').items;
}

async function adminPrices(): Promise<Array<{ actionKey: string; status: string; creditsPerUnit: number }>> {
  return expectStatus(await stack.call('GET', '/v1/admin/action-prices', { as: 'admin' }), 200, 'admin prices').items;
}

async function storefront(): Promise<Array<Record<string, unknown>>> {
  return expectStatus(await stack.call('GET', '/v1/packages', { as: 'anonymous' }), 200, 'storefront').items;
}

async function adminPackageCodes(query = ''): Promise<string[]> {
  const body = expectStatus(await stack.call('GET', `/v1/admin/packages${query}`, { as: 'admin' }), 200, 'admin packages');
  return body.items.map((p: { code: string }) => p.code);
}

const codesOf = (items: Array<Record<string, unknown>>) => items.map((item) => item.code);
const keysOf = (items: Array<{ actionKey: string }>) => items.map((item) => item.actionKey);

// -------------------------------------------------------------------------------------------------

describe('action prices', () => {
  it('creates a price (201) that admins see in full and the public sees without internals', async () => {
    const actionKey = uniqueKey('create');
    const created = await stack.call('POST', '/v1/admin/action-prices', {
      as: 'admin',
      body: { actionKey, name: 'Cover letter', creditsPerUnit: 4 },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('idempotent-replayed')).toBeNull();
    expect(created.body).toEqual({
      id: uuidString,
      actionKey,
      name: 'Cover letter',
      creditsPerUnit: 4,
      status: 'active',
      createdAt: isoString,
      updatedAt: isoString,
    });

    expect((await adminPrices()).find((p) => p.actionKey === actionKey)).toEqual(created.body);
    expect((await publicPrices()).find((p) => p.actionKey === actionKey)).toEqual({ actionKey, name: 'Cover letter', creditsPerUnit: 4 });
  });

  it('answers a second create of the same actionKey with 409 ALREADY_EXISTS and keeps the first', async () => {
    const first = await createActionPrice(stack, { creditsPerUnit: 2, name: 'Original' });
    const duplicate = await stack.call('POST', '/v1/admin/action-prices', {
      as: 'admin',
      body: { actionKey: first.actionKey, name: 'Impostor', creditsPerUnit: 9 },
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toEqual({
      error: { code: 'ALREADY_EXISTS', message: expect.any(String), details: { actionKey: first.actionKey } },
    });
    expect((await adminPrices()).filter((p) => p.actionKey === first.actionKey)).toEqual([first]);
  });

  it('replays a retried create (same key and body) and refuses the key with another body', async () => {
    const key = randomUUID();
    const body = { actionKey: uniqueKey('replay'), name: 'Replayed', creditsPerUnit: 3 };
    const first = await stack.call('POST', '/v1/admin/action-prices', { as: 'admin', body, idempotencyKey: key });
    const retry = await stack.call('POST', '/v1/admin/action-prices', { as: 'admin', body: { ...body }, idempotencyKey: key });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');

    const otherKey = uniqueKey('replay');
    const reused = await stack.call('POST', '/v1/admin/action-prices', {
      as: 'admin',
      body: { ...body, actionKey: otherKey },
      idempotencyKey: key,
    });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await stack.db.actionPrice.count({ where: { actionKey: { in: [body.actionKey, otherKey] } } })).toBe(1);
  });

  it('reprices an action: the next deduct is charged the new price, the earlier one keeps its own', async () => {
    const price = await createActionPrice(stack, { creditsPerUnit: 2, name: 'Before' });
    const userId = newUserId();
    await grantCredits(stack.db, userId, 100);
    const before = await deductOk(stack, userId, price.actionKey);

    const updated = await updateActionPrice(stack, price.actionKey, { creditsPerUnit: 7 });
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual({ ...price, creditsPerUnit: 7, updatedAt: isoString });
    expect(Date.parse(updated.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(price.updatedAt));

    const after = await deductOk(stack, userId, price.actionKey, 2);
    expect([before.unitPrice, before.creditsCost]).toEqual([2, 2]);
    expect([after.unitPrice, after.creditsCost]).toEqual([7, 14]);
    expect((await publicPrices()).find((p) => p.actionKey === price.actionKey)).toEqual({
      actionKey: price.actionKey,
      name: 'Before',
      creditsPerUnit: 7,
    });
    expect((await balances(stack.db, userId))[0]).toMatchObject({ used: 16, available: 84 });
    await expectLedgerInvariant(stack.db, userId);
  });

  it('disables an action (deduct 422 ACTION_DISABLED, gone from the public list) and enables it again', async () => {
    const price = await createActionPrice(stack, { creditsPerUnit: 1 });
    const userId = newUserId();
    await grantCredits(stack.db, userId, 10);

    const disabled = await updateActionPrice(stack, price.actionKey, { status: 'disabled' });
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ actionKey: price.actionKey, status: 'disabled', creditsPerUnit: 1 });

    const refused = await deduct(stack, userId, price.actionKey);
    expect(refused.status).toBe(422);
    expect(refused.body).toEqual({
      error: { code: 'ACTION_DISABLED', message: expect.any(String), details: { actionKey: price.actionKey } },
    });
    expect(keysOf(await publicPrices())).not.toContain(price.actionKey);
    expect((await adminPrices()).find((p) => p.actionKey === price.actionKey)?.status).toBe('disabled');
    expect(await stack.db.consumptionRecord.count({ where: { userId } })).toBe(0);

    const enabled = await updateActionPrice(stack, price.actionKey, { status: 'active' });
    expect(enabled.body.status).toBe('active');
    expect(keysOf(await publicPrices())).toContain(price.actionKey);
    expect((await deductOk(stack, userId, price.actionKey)).creditsCost).toBe(1);
    expect((await balances(stack.db, userId))[0]).toMatchObject({ used: 1, available: 9 });
    await expectLedgerInvariant(stack.db, userId);
  });

  it('audits every change: who, what, before and after, newest first', async () => {
    const price = await createActionPrice(stack, { creditsPerUnit: 2, name: 'Audited' });
    await updateActionPrice(stack, price.actionKey, { creditsPerUnit: 5 });
    const audit = expectStatus(
      await stack.call('GET', `/v1/admin/audit-events?entityType=action_price&entityId=${price.actionKey}`, { as: 'admin' }),
      200,
      'audit events',
    );
    expect(audit.items).toEqual([
      {
        id: expect.any(String),
        actor: expect.stringMatching(/^admin:[0-9a-f]{12}$/),
        action: 'action_price.updated',
        entityType: 'action_price',
        entityId: price.actionKey,
        changes: { before: price, after: { ...price, creditsPerUnit: 5, updatedAt: isoString } },
        createdAt: isoString,
      },
      {
        id: expect.any(String),
        actor: expect.stringMatching(/^admin:[0-9a-f]{12}$/),
        action: 'action_price.created',
        entityType: 'action_price',
        entityId: price.actionKey,
        changes: { before: null, after: price },
        createdAt: isoString,
      },
    ]);
    await expect(stack.db.$executeRaw`DELETE FROM audit_events WHERE entity_id = ${price.actionKey}`).rejects.toThrow(/append-only/);
  });

  it('answers a change to an unknown action with 404 NOT_FOUND', async () => {
    const missing = uniqueKey('missing');
    const response = await updateActionPrice(stack, missing, { creditsPerUnit: 5 });
    expect(response.status).toBe(404);
    expect(response.body.error).toMatchObject({ code: 'NOT_FOUND', details: { actionKey: missing } });
    expect(await stack.db.actionPrice.count({ where: { actionKey: missing } })).toBe(0);
  });
});

// -------------------------------------------------------------------------------------------------

describe('packages', () => {
  it.each([
    ['permanent with durationDays', { type: 'permanent', durationDays: 30 }, ['body.durationDays']],
    ['duration without durationDays', { type: 'duration', durationDays: undefined }, ['body.durationDays']],
    ['duration with durationDays null', { type: 'duration', durationDays: null }, ['body.durationDays']],
    ['hybrid without durationDays', { type: 'hybrid', durationDays: undefined }, ['body.durationDays']],
    ['credits without credits', { type: 'credits', creditsAmount: 0, durationDays: undefined }, ['body.creditsAmount']],
    ['hybrid without credits or durationDays', { type: 'hybrid', creditsAmount: 0, durationDays: undefined }, ['body.durationDays', 'body.creditsAmount']],
  ] as const)('refuses %s with 400 and the field path', async (_name, overrides, paths) => {
    const body = packageFields(overrides as never);
    const response = await stack.call('POST', '/v1/admin/packages', { as: 'admin', body });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(issuePaths(response).sort()).toEqual([...paths].sort());
    expect(await stack.db.billingPackage.count({ where: { code: body.code } })).toBe(0);
  });

  it('creates one package of each type with the defaults filled in', async () => {
    const cases = [
      { type: 'permanent', creditsAmount: 50, durationDays: undefined, expectedDuration: null },
      { type: 'duration', creditsAmount: 0, durationDays: 7, expectedDuration: 7 },
      { type: 'credits', creditsAmount: 20, durationDays: undefined, expectedDuration: null },
      { type: 'credits', creditsAmount: 20, durationDays: 90, expectedDuration: 90 },
      { type: 'hybrid', creditsAmount: 100, durationDays: 30, expectedDuration: 30 },
    ] as const;
    for (const { expectedDuration, ...fields } of cases) {
      const body = packageFields(fields);
      const response = await stack.call('POST', '/v1/admin/packages', { as: 'admin', body });
      expect(response.status).toBe(201);
      expect(response.body).toEqual({
        id: uuidString,
        code: body.code,
        name: body.name,
        type: fields.type,
        creditsAmount: fields.creditsAmount,
        durationDays: expectedDuration,
        priceMinor: 999,
        currency: 'USD',
        visible: true,
        defaultPriority: 100,
        status: 'active',
        deletedAt: null,
        createdAt: isoString,
        updatedAt: isoString,
      });
    }
  });

  it('answers a second package with the same code with 409 ALREADY_EXISTS', async () => {
    const first = await createPackage(stack);
    const duplicate = await stack.call('POST', '/v1/admin/packages', { as: 'admin', body: packageFields({ code: first.code, name: 'Other' }) });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error).toMatchObject({ code: 'ALREADY_EXISTS', details: { code: first.code } });
  });

  it('applies the type rules to the package as a PATCH would leave it', async () => {
    const permanent = await createPackage(stack, { type: 'permanent', durationDays: undefined });
    const hybrid = await createPackage(stack, { type: 'hybrid', durationDays: 30 });

    const givesPermanentADuration = await updatePackage(stack, permanent.id, { durationDays: 10 });
    expect(givesPermanentADuration.status).toBe(400);
    expect(issuePaths(givesPermanentADuration)).toEqual(['body.durationDays']);

    const takesHybridDurationAway = await updatePackage(stack, hybrid.id, { durationDays: null });
    expect(takesHybridDurationAway.status).toBe(400);
    expect(issuePaths(takesHybridDurationAway)).toEqual(['body.durationDays']);

    const reprice = await updatePackage(stack, hybrid.id, { priceMinor: 1999, durationDays: 60, name: 'Bigger' });
    expect(reprice.status).toBe(200);
    expect(reprice.body).toEqual({ ...hybrid, priceMinor: 1999, durationDays: 60, name: 'Bigger', updatedAt: isoString });
  });

  it('shows and hides a package in the public storefront with visible, and hides disabled ones', async () => {
    const pkg = await createPackage(stack, { type: 'credits', creditsAmount: 25, durationDays: undefined, priceMinor: 499, currency: 'EUR' });
    const storefrontView = {
      id: pkg.id,
      code: pkg.code,
      name: pkg.name,
      type: 'credits',
      creditsAmount: 25,
      durationDays: null,
      priceMinor: 499,
      currency: 'EUR',
    };
    expect((await storefront()).find((p) => p.code === pkg.code)).toEqual(storefrontView);

    const hidden = await updatePackage(stack, pkg.id, { visible: false });
    expect(hidden.status).toBe(200);
    expect(hidden.body.visible).toBe(false);
    expect(codesOf(await storefront())).not.toContain(pkg.code);
    expect(await adminPackageCodes()).toContain(pkg.code);

    const shown = await updatePackage(stack, pkg.id, { visible: true });
    expect(shown.body.visible).toBe(true);
    expect((await storefront()).find((p) => p.code === pkg.code)).toEqual(storefrontView);

    await updatePackage(stack, pkg.id, { status: 'disabled' });
    expect(codesOf(await storefront())).not.toContain(pkg.code);
  });

  it('soft-deletes a package: gone from every list, still readable by id, no longer assignable or changeable', async () => {
    const pkg = await createPackage(stack);
    const deleted = await stack.call('DELETE', `/v1/admin/packages/${pkg.id}`, { as: 'admin' });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ ...pkg, visible: false, deletedAt: isoString, updatedAt: isoString });

    expect(codesOf(await storefront())).not.toContain(pkg.code);
    expect(await adminPackageCodes()).not.toContain(pkg.code);
    expect(await adminPackageCodes('?includeDeleted=true')).toContain(pkg.code);

    const byId = await stack.call('GET', `/v1/admin/packages/${pkg.id}`, { as: 'admin' });
    expect(byId.status).toBe(200);
    expect(byId.body).toEqual(deleted.body);

    const userId = newUserId();
    const assign = await assignPackage(stack, userId, { packageCode: pkg.code });
    expect(assign.status).toBe(404);
    expect(assign.body.error).toMatchObject({ code: 'NOT_FOUND', details: { packageCode: pkg.code } });
    expect(await stack.db.userPackage.count({ where: { userId } })).toBe(0);

    const patch = await updatePackage(stack, pkg.id, { visible: true });
    expect(patch.status).toBe(404);
    expect(patch.body.error.code).toBe('NOT_FOUND');

    const deleteAgain = await stack.call('DELETE', `/v1/admin/packages/${pkg.id}`, { as: 'admin' });
    expect(deleteAgain.status).toBe(404);
    expect((await stack.call('GET', `/v1/admin/packages/${pkg.id}`, { as: 'admin' })).body).toEqual(deleted.body);
  });

  it('answers GET, PATCH and DELETE of an unknown package id with 404', async () => {
    const missing = randomUUID();
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      const response = await stack.call(method, `/v1/admin/packages/${missing}`, {
        as: 'admin',
        body: method === 'PATCH' ? { visible: false } : undefined,
      });
      expect([method, response.status, response.body.error?.code]).toEqual([method, 404, 'NOT_FOUND']);
    }
  });
});

// -------------------------------------------------------------------------------------------------

describe('assigning a package to a user', () => {
  async function ledgerOf(grantId: string) {
    return stack.db.creditLedgerEntry.findMany({ where: { userPackageId: grantId }, orderBy: { id: 'asc' } });
  }

  it("grants the package's credits with its default priority, expiry = startsAt + durationDays, source and note", async () => {
    const pkg = await createPackage(stack, { type: 'hybrid', creditsAmount: 120, durationDays: 30, defaultPriority: 40 });
    const userId = newUserId();
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const key = randomUUID();

    const response = await assignPackage(stack, userId, { packageCode: pkg.code, source: 'purchase', note: 'order 42', startsAt }, key);
    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      id: uuidString,
      userId,
      packageId: pkg.id,
      source: 'purchase',
      status: 'active',
      totalCredits: 120,
      usedCredits: 0,
      reservedCredits: 0,
      availableCredits: 120,
      priority: 40,
      startsAt,
      expiresAt: new Date(Date.parse(startsAt) + 30 * DAY).toISOString(),
      note: 'order 42',
      createdAt: isoString,
    });

    const ledger = await ledgerOf(response.body.id);
    expect(ledger).toEqual([
      expect.objectContaining({
        userId,
        entryType: 'grant',
        amount: 120,
        reservedDelta: 0,
        usedDelta: 0,
        referenceType: 'grant',
        referenceId: response.body.id,
        idempotencyKey: key,
        actor: expect.stringMatching(/^admin:/),
      }),
    ]);
    await expectLedgerInvariant(stack.db, userId);

    const credits = await stack.call('GET', '/v1/me/credits', { as: { user: userId } });
    expect(credits.body.availableCredits).toBe(120);
  });

  it('gives a permanent package no expiry, honours a priority override and defaults the source to gift', async () => {
    const pkg = await createPackage(stack, { type: 'permanent', creditsAmount: 15, durationDays: undefined, defaultPriority: 300 });
    const userId = newUserId();
    const before = Date.now();
    const response = await assignPackage(stack, userId, { packageCode: pkg.code, priority: 5 });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ packageId: pkg.id, totalCredits: 15, availableCredits: 15, priority: 5, source: 'gift', note: null, expiresAt: null });
    expect(Date.parse(response.body.startsAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(response.body.startsAt)).toBeLessThanOrEqual(Date.now() + 1000);
    expect((await ledgerOf(response.body.id)).map((e) => [e.entryType, e.amount])).toEqual([['grant', 15]]);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('keeps a grant that starts later unspendable until then', async () => {
    const pkg = await createPackage(stack, { type: 'duration', creditsAmount: 40, durationDays: 10 });
    const userId = newUserId();
    const startsAt = new Date(Date.now() + 2 * DAY).toISOString();
    const response = await assignPackage(stack, userId, { packageCode: pkg.code, startsAt });
    expect(response.status).toBe(201);
    expect(response.body.expiresAt).toBe(new Date(Date.parse(startsAt) + 10 * DAY).toISOString());

    const credits = await stack.call('GET', '/v1/me/credits', { as: { user: userId } });
    expect(credits.body.availableCredits).toBe(0);
    expect(credits.body.grants.map((g: { id: string; spendable: boolean }) => [g.id, g.spendable])).toEqual([[response.body.id, false]]);
    const spend = await deduct(stack, userId, 'ai_chat');
    expect(spend.status).toBe(402);
  });

  it('grants once for a retried assignment with the same key', async () => {
    const pkg = await createPackage(stack, { creditsAmount: 30 });
    const userId = newUserId();
    const key = randomUUID();
    const body = { packageCode: pkg.code, note: 'retried' };
    const first = await assignPackage(stack, userId, body, key);
    const retry = await assignPackage(stack, userId, body, key);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await balances(stack.db, userId)).toEqual([{ id: first.body.id, status: 'active', total: 30, used: 0, reserved: 0, available: 30 }]);
    expect(await stack.db.creditLedgerEntry.count({ where: { userId } })).toBe(1);
  });

  it('refuses a disabled package with 422 PACKAGE_UNAVAILABLE and an unknown one with 404, granting nothing', async () => {
    const pkg = await createPackage(stack, { status: 'disabled' });
    const userId = newUserId();
    const disabled = await assignPackage(stack, userId, { packageCode: pkg.code });
    expect(disabled.status).toBe(422);
    expect(disabled.body).toEqual({
      error: { code: 'PACKAGE_UNAVAILABLE', message: expect.any(String), details: { packageCode: pkg.code } },
    });
    const unknown = await assignPackage(stack, userId, { packageCode: uniqueKey('nothing') });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NOT_FOUND');
    expect(await stack.db.userPackage.count({ where: { userId } })).toBe(0);
    expect(await stack.db.creditLedgerEntry.count({ where: { userId } })).toBe(0);
  });

  it("lists a user's grants for admins, newest first, with the package they came from", async () => {
    const older = await createPackage(stack, { name: 'Older package', creditsAmount: 10 });
    const newer = await createPackage(stack, { type: 'permanent', durationDays: undefined, name: 'Newer package', creditsAmount: 5 });
    const userId = newUserId();
    const first = expectStatus(await assignPackage(stack, userId, { packageCode: older.code }), 201, 'assign older');
    await new Promise((resolve) => setTimeout(resolve, 5)); // distinct createdAt milliseconds
    const second = expectStatus(await assignPackage(stack, userId, { packageCode: newer.code, source: 'promotion' }), 201, 'assign newer');
    await deductOk(stack, userId, 'ai_chat'); // priority ties: the older package expires first, so it pays

    const listed = await stack.call('GET', `/v1/admin/users/${userId}/packages`, { as: 'admin' });
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([
      { ...second, package: { code: newer.code, name: 'Newer package' } },
      { ...first, usedCredits: 1, availableCredits: 9, package: { code: older.code, name: 'Older package' } },
    ]);

    await stack.call('DELETE', `/v1/admin/packages/${older.id}`, { as: 'admin' });
    const afterDelete = await stack.call('GET', `/v1/admin/users/${userId}/packages?status=active`, { as: 'admin' });
    expect(afterDelete.body.items.map((g: { id: string; package: unknown }) => [g.id, g.package])).toEqual([
      [second.id, { code: newer.code, name: 'Newer package' }],
      [first.id, { code: older.code, name: 'Older package' }],
    ]);
    await expectLedgerInvariant(stack.db, userId);
  });
});
