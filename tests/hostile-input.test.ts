/**
 * Hostile input, one test per class: no 5xx for a caller's mistake, instants PostgreSQL can
 * store, a grant's status from its dates, one idempotency namespace per credential with replays byte
 * for byte, and only the creating credential settles a reservation.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { createPackage, assignPackage, uniqueKey, createActionPrice } from './support/fixtures';
import { ADMIN_KEY, SERVICE_KEY, grantCredits, newUserId, startStack, type TestStack } from './support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const DAY = 86_400_000;
const envelope = (code: string) => ({ error: expect.objectContaining({ code, message: expect.any(String) }) });

/** A raw request (fetch would refuse or fix some of the hostile shapes), answered as status + parsed body. */
function rawRequest(options: { method: string; path: string; headers?: Record<string, string>; body?: string }) {
  const url = new URL(stack.baseUrl);
  return new Promise<{ status: number; text: string; contentType: string }>((resolve, reject) => {
    const request = http.request(
      { host: url.hostname, port: url.port, method: options.method, path: options.path, headers: options.headers },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, text, contentType: String(response.headers['content-type'] ?? '') }));
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

describe('no 5xx for a caller mistake', () => {
  it.each([
    ['with a credential', { authorization: `Bearer ${SERVICE_KEY}` }],
    ['without one', {}],
  ])('a path parameter with malformed percent-encoding is 400 with the envelope (%s)', async (_label, headers) => {
    const response = await rawRequest({ method: 'GET', path: '/v1/internal/reservations/%ZZ', headers });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text)).toEqual(envelope('VALIDATION_FAILED'));
  });

  it('a body declared gzip that is not compressed is 400; an unsupported encoding is 415', async () => {
    const body = JSON.stringify({ userId: 'u-1', actionKey: 'ai_chat' });
    const base = { authorization: `Bearer ${SERVICE_KEY}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() };
    const gzip = await rawRequest({ method: 'POST', path: '/v1/internal/credits/deduct', headers: { ...base, 'content-encoding': 'gzip' }, body });
    expect(gzip.status).toBe(400);
    expect(JSON.parse(gzip.text)).toEqual(envelope('VALIDATION_FAILED'));

    const unknown = await rawRequest({ method: 'POST', path: '/v1/internal/credits/deduct', headers: { ...base, 'content-encoding': 'compress' }, body });
    expect(unknown.status).toBe(415);
    expect(JSON.parse(unknown.text)).toEqual(envelope('UNSUPPORTED_MEDIA_TYPE'));
  });

  it('a body in another media type than JSON is 415 and changes nothing', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 10);
    const reserved = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat' } });
    expect(reserved.status).toBe(201);
    const release = await rawRequest({
      method: 'POST',
      path: `/v1/internal/reservations/${reserved.body.id}/release`,
      headers: { authorization: `Bearer ${SERVICE_KEY}`, 'content-type': 'text/plain', 'idempotency-key': randomUUID() },
      body: 'please release',
    });
    expect(release.status).toBe(415);
    expect(JSON.parse(release.text)).toEqual(envelope('UNSUPPORTED_MEDIA_TYPE'));
    expect((await stack.db.reservation.findUniqueOrThrow({ where: { id: reserved.body.id } })).status).toBe('held');
  });

  it('an idle keep-alive connection outlives the clients in front of it (the client closes first, no ECONNRESET on reuse)', async () => {
    const agent = new http.Agent({ keepAlive: true });
    try {
      const keepAlive = await new Promise<string | undefined>((resolve, reject) => {
        http.get(`${stack.baseUrl}/healthz`, { agent }, (response) => {
          response.resume();
          response.on('end', () => resolve(String(response.headers['keep-alive'] ?? '')));
        }).on('error', reject);
      });
      // Node announces its keep-alive timeout; 60 s is the common load balancer idle timeout.
      const seconds = Number(/timeout=(\d+)/.exec(keepAlive ?? '')?.[1]);
      expect(seconds).toBeGreaterThan(60);
    } finally {
      agent.destroy();
    }
  });

  it('an oversized header block gets 431 with the envelope', async () => {
    const response = await rawRequest({ method: 'GET', path: '/v1/packages', headers: { 'x-padding': 'a'.repeat(20_000) } });
    expect(response.status).toBe(431);
    expect(JSON.parse(response.text)).toEqual(envelope('HEADERS_TOO_LARGE'));
  });

  const OUT_OF_RANGE = ['2024-01-01T00:00:00+23:20', '0000-01-01T00:00:00Z', '0001-01-01T00:00:00+01:00'];
  it.each(OUT_OF_RANGE)('refuses the instant %s on every report filter with 400', async (instant) => {
    const query = `from=${encodeURIComponent(instant)}`;
    for (const [path, as] of [
      ['/v1/admin/consumptions/stats', 'admin'],
      ['/v1/admin/consumptions/export.csv', 'admin'],
      ['/v1/me/consumptions', { user: newUserId() }],
    ] as const) {
      const response = await stack.call('GET', `${path}?${query}`, { as });
      expect([path, response.status]).toEqual([path, 400]);
      expect(response.body).toEqual(envelope('VALIDATION_FAILED'));
    }
  });

  it('refuses an out-of-range startsAt on a grant with 400', async () => {
    const pkg = await createPackage(stack, { type: 'permanent', durationDays: null, creditsAmount: 5 });
    const response = await assignPackage(stack, newUserId(), { packageCode: pkg.code, startsAt: '0000-06-01T00:00:00Z' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual(envelope('VALIDATION_FAILED'));
  });
});

describe("a grant's status matches its dates at creation", () => {
  it('a grant that starts later is pending, and ?status=pending finds it', async () => {
    const pkg = await createPackage(stack, { type: 'duration', creditsAmount: 40, durationDays: 10 });
    const userId = newUserId();
    const response = await assignPackage(stack, userId, { packageCode: pkg.code, startsAt: new Date(Date.now() + 2 * DAY).toISOString() });
    expect(response.status).toBe(201);
    expect(response.body.status).toBe('pending');
    const pending = await stack.call('GET', `/v1/admin/users/${userId}/packages?status=pending`, { as: 'admin' });
    expect(pending.body.items.map((g: { id: string }) => g.id)).toEqual([response.body.id]);
    const active = await stack.call('GET', `/v1/admin/users/${userId}/packages?status=active`, { as: 'admin' });
    expect(active.body.items).toEqual([]);
  });

  it('a grant whose expiry has already passed is refused with GRANT_ALREADY_EXPIRED and nothing is written', async () => {
    const pkg = await createPackage(stack, { type: 'duration', creditsAmount: 40, durationDays: 10 });
    const userId = newUserId();
    const response = await assignPackage(stack, userId, { packageCode: pkg.code, startsAt: new Date(Date.now() - 11 * DAY).toISOString() });
    expect(response.status).toBe(422);
    expect(response.body).toEqual(envelope('GRANT_ALREADY_EXPIRED'));
    expect(await stack.db.userPackage.count({ where: { userId } })).toBe(0);
  });
});

describe('idempotency keys: one namespace per credential, replays byte for byte', () => {
  async function userWithCredits(credits = 100) {
    const userId = newUserId();
    await grantCredits(stack.db, userId, credits);
    return userId;
  }

  it('a key used for a deduct cannot be used for a reserve, nor the other way round', async () => {
    const userId = await userWithCredits();
    const key = randomUUID();
    expect((await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' }, idempotencyKey: key })).status).toBe(201);
    const reserve = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat' }, idempotencyKey: key });
    expect(reserve.status).toBe(409);
    expect(reserve.body).toEqual(envelope('IDEMPOTENCY_KEY_REUSED'));
    expect(await stack.db.reservation.count({ where: { userId } })).toBe(0);

    const other = randomUUID();
    const first = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat' }, idempotencyKey: other });
    expect(first.status).toBe(201);
    const deduct = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat' }, idempotencyKey: other });
    expect(deduct.status).toBe(409);
    expect(deduct.body).toEqual(envelope('IDEMPOTENCY_KEY_REUSED'));
    // The reserve's retry still replays.
    const retry = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat' }, idempotencyKey: other });
    expect(retry.status).toBe(201);
    expect(retry.body.id).toBe(first.body.id);
  });

  it('a reserve key cannot settle, and an extend key cannot be reused for a release', async () => {
    const userId = await userWithCredits();
    const reserveKey = randomUUID();
    const reserved = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat' }, idempotencyKey: reserveKey });
    expect(reserved.status).toBe(201);
    const id = reserved.body.id;
    const commit = await stack.call('POST', `/v1/internal/reservations/${id}/commit`, { body: {}, idempotencyKey: reserveKey });
    expect(commit.status).toBe(409);

    const extendKey = randomUUID();
    const extended = await stack.call('POST', `/v1/internal/reservations/${id}/extend`, { body: { holdSeconds: 600 }, idempotencyKey: extendKey });
    expect(extended.status).toBe(200);
    const release = await stack.call('POST', `/v1/internal/reservations/${id}/release`, { body: {}, idempotencyKey: extendKey });
    expect(release.status).toBe(409);
    expect(release.body).toEqual(envelope('IDEMPOTENCY_KEY_REUSED'));
    expect((await stack.db.reservation.findUniqueOrThrow({ where: { id } })).status).toBe('held');
    const extendAgain = await stack.call('POST', `/v1/internal/reservations/${id}/extend`, { body: { holdSeconds: 600 }, idempotencyKey: extendKey });
    expect(extendAgain.status).toBe(200);
    expect(extendAgain.body).toEqual(extended.body);
  });

  it('a refused request leaves its key free for another request', async () => {
    const userId = newUserId(); // no credits
    const key = randomUUID();
    const refused = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat' }, idempotencyKey: key });
    expect(refused.status).toBe(402);
    expect(await stack.db.idempotencyRecord.count({ where: { key } })).toBe(0);
  });

  it.each([
    ['deduct', () => ({ path: '/v1/internal/credits/deduct', as: SERVICE_KEY })],
    ['reserve', () => ({ path: '/v1/internal/reservations', as: SERVICE_KEY })],
  ])('a retried %s replays the first answer byte for byte', async (_label, target) => {
    const userId = await userWithCredits();
    const { path, as } = target();
    const headers = { authorization: `Bearer ${as}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() };
    const body = JSON.stringify({ userId, actionKey: 'ai_chat', ...(path.endsWith('deduct') ? { metadata: { zeta: 1, alpha: { b: 2, a: 1 } } } : {}) });
    const first = await rawRequest({ method: 'POST', path, headers, body });
    expect(first.status).toBe(201);
    const again = await rawRequest({ method: 'POST', path, headers, body });
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
  });

  it('an admin write replays byte for byte too', async () => {
    const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() };
    const body = JSON.stringify({ actionKey: uniqueKey('replay'), name: 'Replayed', creditsPerUnit: 3 });
    const first = await rawRequest({ method: 'POST', path: '/v1/admin/action-prices', headers, body });
    const again = await rawRequest({ method: 'POST', path: '/v1/admin/action-prices', headers, body });
    expect([first.status, again.status]).toEqual([201, 201]);
    expect(again.text).toBe(first.text);
  });
});

describe('only the creating credential settles a reservation', () => {
  it('another service key gets NOT_FOUND for commit, release, extend, refund and reads; the creator settles', async () => {
    await createActionPrice(stack, { actionKey: uniqueKey('owned') });
    const userId = newUserId();
    await grantCredits(stack.db, userId, 100);
    const reserved = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat' } });
    expect(reserved.status).toBe(201);
    const id = reserved.body.id;
    for (const [path, body] of [
      [`/v1/internal/reservations/${id}/commit`, {}],
      [`/v1/internal/reservations/${id}/release`, {}],
      [`/v1/internal/reservations/${id}/extend`, { holdSeconds: 60 }],
      [`/v1/internal/reservations/${id}/refund`, { reason: 'not mine' }],
    ] as const) {
      const response = await stack.call('POST', path, { as: 'other-service', body });
      expect([path, response.status]).toEqual([path, 404]);
      expect(response.body).toEqual(envelope('NOT_FOUND'));
    }
    expect((await stack.call('GET', `/v1/internal/reservations/${id}`, { as: 'other-service' })).status).toBe(404);
    expect((await stack.db.reservation.findUniqueOrThrow({ where: { id } })).status).toBe('held');
    expect((await stack.call('GET', `/v1/internal/reservations/${id}`, { as: 'admin' })).status).toBe(200);

    const commit = await stack.call('POST', `/v1/internal/reservations/${id}/commit`, { body: {} });
    expect(commit.status).toBe(200);
    const refund = await stack.call('POST', `/v1/internal/consumptions/${commit.body.consumption.id}/refund`, {
      as: 'other-service',
      body: { reason: 'not mine' },
    });
    expect(refund.status).toBe(404);
    const own = await stack.call('POST', `/v1/internal/reservations/${id}/refund`, { body: { reason: 'failed' } });
    expect(own.status).toBe(201);
  });
});

describe('text PostgreSQL cannot store', () => {
  it('refuses a NUL character anywhere in a body (found by the fuzzer: it was a 500)', async () => {
    const price = await stack.call('POST', '/v1/admin/action-prices', { as: 'admin', body: { actionKey: uniqueKey('nul'), name: 'a\u0000b', creditsPerUnit: 1 } });
    expect(price.status).toBe(400);
    expect(price.body.error.details.issues).toEqual([{ path: 'body.name', message: expect.any(String) }]);
    const userId = newUserId();
    await grantCredits(stack.db, userId, 10);
    const deduct = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat', metadata: { note: ['x\u0000'] } } });
    expect(deduct.status).toBe(400);
    expect(deduct.body.error.details.issues[0].path).toBe('body.metadata.note.0');
    expect(await stack.db.consumptionRecord.count({ where: { userId } })).toBe(0);
  });

  it('refuses an unpaired surrogate and a body nested past the bound, in keys and values, with nothing written', async () => {
    const userId = newUserId();
    await grantCredits(stack.db, userId, 10);
    const deep: Record<string, unknown> = {};
    let level = deep;
    for (let depth = 0; depth < 200; depth++) level = (level.next = {}) as Record<string, unknown>;
    const bodies: Array<[unknown, string]> = [
      [{ userId, actionKey: 'ai_chat', metadata: { note: 'a\uD800b' } }, 'body.metadata.note'],
      [{ userId, actionKey: 'ai_chat', metadata: { note: '\uDC00' } }, 'body.metadata.note'],
      [{ userId, actionKey: 'ai_chat', metadata: { ['k\uDBFF']: 1 } }, 'body.metadata.k\uDBFF'],
      [{ userId, actionKey: 'ai_chat', metadata: deep }, expect.stringMatching(/^body\.metadata(\.next)+$/)],
    ];
    for (const [body, path] of bodies) {
      const deduct = await stack.call('POST', '/v1/internal/credits/deduct', { body });
      expect(deduct.status).toBe(400);
      expect(deduct.body.error.code).toBe('VALIDATION_FAILED');
      expect(deduct.body.error.details.issues[0].path).toEqual(path);
    }
    // A surrogate pair (an emoji) is ordinary text.
    const emoji = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat', metadata: { note: '\uD83D\uDE00' } } });
    expect(emoji.status).toBe(201);
    expect(await stack.db.consumptionRecord.count({ where: { userId } })).toBe(1);
  });
});
