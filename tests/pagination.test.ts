/**
 * Every list pages the one way (docs/api.md, "Pagination"), checked from the route table itself: for
 * each paged route, paging with limit 1 and 2 yields exactly the items of one full page, each once and
 * in the same order, across pages, including rows that tie on the leading sort key; a request without
 * a cursor answers the first page as the list did before it paged; a cursor the endpoint did not issue
 * is 400 VALIDATION_FAILED on query.cursor, never a database error. A paged route added without a
 * case in CASES fails the first test.
 *
 * The file gets its own database (created, migrated and seeded here), so every list holds exactly
 * what it seeds: other test files writing concurrently cannot shift a page.
 */
import { randomUUID } from 'node:crypto';
import { routes } from '../api/routes';
import type { RouteDefinition } from '../api/route';
import { z } from '../platform/zod';
import { ensureSchedules, scheduleDefinitions } from '../modules/lifecycle/schedules';
import { createCoupon, createSeller } from './support/commerce';
import { createPackage, deductOk, expectStatus, query, setConsumptionTime } from './support/fixtures';
import { waitForOrder } from './support/orders';
import { grantCredits, newUserId, startStack, type Caller, type TestStack } from './support/stack';
import { waitFor } from './support/wait';
import { createOwnDatabase } from './support/own-database';

let stack: TestStack;
const user = newUserId('pager');
/** A user with notices only, so nothing the worker writes for `user` lands in their list mid-paging. */
const noticed = newUserId('noticed');
const seeded: { grantId: string; orderId: string; endpointId: string; scheduleIds: string[] } = { grantId: '', orderId: '', endpointId: '', scheduleIds: [] };

/** Several rows per list, some tying on the leading sort key (same instant, same price, same display order). */
async function seed(): Promise<void> {
  const { db } = stack;
  const tie = new Date('2026-01-15T10:00:00.000Z');
  const farExpiry = new Date(Date.now() + 400 * 86_400_000); // no reminder timer fires while the file runs

  seeded.grantId = await grantCredits(db, user, 1_000, { priority: 1 });
  for (let i = 0; i < 3; i++) await grantCredits(db, user, 10, { createdAt: tie, expiresAt: farExpiry });

  const consumptions = [];
  for (let i = 0; i < 4; i++) consumptions.push(await deductOk(stack, user, 'ai_chat'));
  for (const consumption of consumptions.slice(0, 3)) await setConsumptionTime(stack, consumption.id, tie);

  for (let i = 0; i < 3; i++) {
    expectStatus(
      await stack.call('POST', '/v1/internal/reservations', { body: { userId: user, actionKey: 'pdf_export', holdSeconds: 3_600 } }),
      201,
      'reserve',
    );
  }

  // Same price as the seeded monthly_membership: the storefront orders them by code.
  const packages = [];
  for (let i = 0; i < 3; i++) packages.push(await createPackage(stack, { priceMinor: 999, visible: true }));
  // Same display order as the seeded stripe channel: listed by code after it.
  expectStatus(
    await stack.call('POST', '/v1/admin/payment-channels', {
      as: 'admin',
      body: { code: 'bank-transfer', kind: 'manual', name: 'Bank transfer', displayOrder: 10, currencies: ['USD'] },
    }),
    201,
    'create channel',
  );

  const orders = [];
  for (const pkg of packages) {
    orders.push(expectStatus(await stack.call('POST', '/v1/me/orders', { as: { user }, body: { packageCode: pkg.code, channel: 'manual' } }), 201, 'order'));
  }
  seeded.orderId = orders[0].id;
  await db.orderRefund.createMany({
    data: [0, 1, 2].map((i) => ({ id: randomUUID(), orderId: seeded.orderId, amountMinor: 100 + i, reason: `refund ${i}`, actor: 'test', createdAt: tie })),
  });
  await db.subscription.createMany({
    data: packages.map((pkg) => ({ userId: user, packageId: pkg.id, currentPeriodStart: tie, currentPeriodEnd: farExpiry, createdAt: tie })),
  });

  for (let i = 0; i < 3; i++) await createCoupon(stack, {});
  for (let i = 0; i < 3; i++) await createSeller(stack);

  const endpoints = [];
  for (let i = 0; i < 3; i++) {
    endpoints.push(
      expectStatus(
        await stack.call('POST', '/v1/admin/webhook-endpoints', { as: 'admin', body: { url: `http://127.0.0.1:9/hook-${i}`, enabled: false } }),
        201,
        'create endpoint',
      ),
    );
  }
  seeded.endpointId = endpoints[0].id;
  const events = await db.event.findMany({ where: { userId: user }, take: 3 });
  await db.webhookDelivery.createMany({
    data: events.map((event) => ({ id: randomUUID(), eventId: event.id, eventOccurredAt: event.occurredAt, endpointId: seeded.endpointId, status: 'failed', createdAt: tie })),
  });
  await db.notification.createMany({
    data: events.map((event, i) => ({ id: randomUUID(), userId: noticed, eventId: event.id, eventOccurredAt: event.occurredAt, type: 'balance.low', title: `notice ${i}`, body: 'Running low.', createdAt: tie })),
  });

  await db.lifecycleReport.createMany({
    data: (['sweep', 'inspection'] as const).flatMap((kind) =>
      [0, 1, 2].map(() => ({ id: randomUUID(), kind, trigger: 'admin', summary: {}, items: [], startedAt: tie, finishedAt: tie })),
    ),
  });
  await db.reconciliationReport.createMany({
    data: [0, 1, 2].map(() => ({
      id: randomUUID(),
      channelCode: 'stripe',
      periodFrom: new Date('2026-01-14T00:00:00Z'),
      periodTo: new Date('2026-01-15T00:00:00Z'),
      trigger: 'schedule',
      localCount: 0,
      remoteCount: 0,
      mismatchCount: 0,
      createdAt: tie,
    })),
  });

  // Invoices (issued when a payment is recorded) and credit notes (one per refund): the three orders paid, then
  // each refunded by one minor unit.
  for (const order of orders) {
    expectStatus(await stack.call('POST', `/v1/admin/orders/${order.id}/mark-paid`, { as: 'admin', body: { reason: 'paging test' } }), 202, 'mark paid');
  }
  await waitFor(async () => (await db.invoice.count({ where: { userId: user } })) === orders.length, 120_000, 'the invoices');
  for (const order of orders) await waitForOrder(stack, order.id, ['completed'], 120_000);
  for (const order of orders) {
    expectStatus(await stack.call('POST', `/v1/admin/orders/${order.id}/refund`, { as: 'admin', body: { amountMinor: 1, reason: 'paging test' } }), 202, 'refund');
  }
  await waitFor(async () => (await db.creditNote.count()) === orders.length, 120_000, 'the credit notes');

  // Refills of a top-up rule (written as the refill workflow's claim writes them).
  const rule = expectStatus(
    await stack.call('POST', '/v1/me/top-up-rules', { as: { user }, body: { thresholdCredits: 1, packageCode: packages[0]!.code, maxTopUpsPerMonth: 5 } }),
    201,
    'top-up rule',
  );
  await db.topUpRefill.createMany({
    data: [0, 1, 2].map((i) => ({ id: `top-up-${rule.id}-${i}`, ruleId: rule.id, userId: user, month: tie.toISOString().slice(0, 7), amountMinor: 999, currency: 'USD', status: 'released' as const, createdAt: tie })),
  });

  const prefix = stack.deps.config.SCHEDULE_ID_PREFIX;
  await ensureSchedules(stack.temporal, stack.taskQueue, { sweepEveryMinutes: 15, prefix, paused: true });
  seeded.scheduleIds = scheduleDefinitions({ sweepEveryMinutes: 15, prefix }).map((definition) => definition.id);
}

beforeAll(async () => {
  stack = await startStack({ databaseUrl: await createOwnDatabase('paging') });
  await seed();
}, 180_000);
afterAll(async () => {
  for (const id of seeded.scheduleIds) await stack?.temporal.schedule.getHandle(id).delete().catch(() => undefined);
  await stack?.close();
});

interface ListCase {
  as: Caller;
  params?: () => Record<string, string>;
  /** Filters that keep the list to what this file seeded and nothing the worker may add meanwhile. */
  filters?: () => Record<string, string>;
  /** Its last sort key is a text id (a workflow id), not a UUID: a cursor with a non-UUID id is a valid one. */
  textIds?: true;
}

const CASES: Record<string, ListCase> = {
  'GET /v1/action-prices': { as: 'anonymous' },
  'GET /v1/packages': { as: 'anonymous' },
  'GET /v1/payment-channels': { as: 'anonymous' },
  'GET /v1/me/packages': { as: { user } },
  'GET /v1/me/consumptions': { as: { user } },
  'GET /v1/me/orders': { as: { user } },
  'GET /v1/me/subscriptions': { as: { user } },
  'GET /v1/me/notifications': { as: { user: noticed } },
  'GET /v1/admin/action-prices': { as: 'admin' },
  'GET /v1/admin/packages': { as: 'admin' },
  'GET /v1/admin/users/:userId/packages': { as: 'admin', params: () => ({ userId: user }) },
  'GET /v1/admin/audit-events': { as: 'admin' },
  'GET /v1/admin/orders': { as: 'admin', filters: () => ({ userId: user }) },
  'GET /v1/admin/orders/:orderId/refunds': { as: 'admin', params: () => ({ orderId: seeded.orderId }) },
  'GET /v1/admin/users/:userId/subscriptions': { as: 'admin', params: () => ({ userId: user }) },
  'GET /v1/admin/payment-channels': { as: 'admin' },
  'GET /v1/admin/reservations': { as: 'admin', filters: () => ({ userId: user }) },
  'GET /v1/admin/grants/:grantId/ledger': { as: 'admin', params: () => ({ grantId: seeded.grantId }) },
  'GET /v1/admin/events': { as: 'admin', filters: () => ({ userId: user }) },
  'GET /v1/admin/webhook-endpoints': { as: 'admin' },
  'GET /v1/admin/webhook-deliveries': { as: 'admin', filters: () => ({ endpointId: seeded.endpointId }) },
  'GET /v1/admin/user-packages': { as: 'admin', filters: () => ({ userId: user }) },
  'GET /v1/admin/lifecycle/reports': { as: 'admin' },
  'GET /v1/admin/coupons': { as: 'admin' },
  'GET /v1/admin/sellers': { as: 'admin' },
  'GET /v1/admin/reconciliations': { as: 'admin' },
  'GET /v1/admin/schedules': { as: 'admin' },
  'GET /v1/me/invoices': { as: { user } },
  'GET /v1/me/credit-notes': { as: { user } },
  'GET /v1/admin/invoices': { as: 'admin' },
  'GET /v1/admin/credit-notes': { as: 'admin' },
  'GET /v1/me/top-ups': { as: { user }, textIds: true },
  'GET /v1/admin/inspections': { as: 'admin' },
};

const keyOf = (route: RouteDefinition) => `${route.method.toUpperCase()} ${route.path}`;
const shapeOf = (schema: z.ZodType | undefined) => (schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType>) : {});
const pagedRoutes = routes.filter((route) => 'nextCursor' in shapeOf(route.response));

/** The largest page the route allows (its limit's maximum). */
function maxLimit(route: RouteDefinition): number {
  const limit = shapeOf(route.query).limit!;
  return [1_000, 500, 200, 100, 50].find((candidate) => limit.safeParse(String(candidate)).success)!;
}

function get(route: RouteDefinition, page: Record<string, string | number | undefined>) {
  const listCase = CASES[keyOf(route)]!;
  const params = listCase.params?.() ?? {};
  const path = route.path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(params[name]!));
  return stack.call('GET', `${path}${query({ ...listCase.filters?.(), ...page })}`, { as: listCase.as });
}

/** How an item is told apart: its id, or the key a catalog list is ordered by. */
const identity = (item: { id?: string; actionKey?: string; code?: string }) => item.id ?? item.actionKey ?? item.code;

it('has a case for every paged route in the table', () => {
  expect(pagedRoutes.map(keyOf).filter((key) => !(key in CASES))).toEqual([]);
  expect(pagedRoutes.length).toBe(Object.keys(CASES).length);
});

describe.each(pagedRoutes.map((route) => [keyOf(route), route] as const))('%s', (_key, route) => {
  it('pages through every item once, in the list order, at any page size', async () => {
    const whole = expectStatus(await get(route, { limit: maxLimit(route) }), 200, 'whole list');
    expect(whole.nextCursor).toBeNull();
    expect(whole.items.length).toBeGreaterThanOrEqual(3);
    const expected = whole.items.map(identity);
    expect(new Set(expected).size).toBe(expected.length);

    for (const limit of [1, 2]) {
      const seen: unknown[] = [];
      let cursor: string | undefined;
      for (let pages = 0; ; pages++) {
        expect(pages).toBeLessThanOrEqual(expected.length); // a cursor that never ends is a failure, not a hang
        const page = expectStatus(await get(route, { limit, cursor }), 200, `page ${pages + 1} of ${limit}`);
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items.map(identity));
        if (page.nextCursor === null) break;
        expect(page.items.length).toBe(limit);
        cursor = page.nextCursor;
      }
      expect(seen).toEqual(expected);
    }
  });

  it('answers the first page without a cursor, as before it paged', async () => {
    const whole = expectStatus(await get(route, { limit: maxLimit(route) }), 200, 'whole list');
    const first = expectStatus(await get(route, {}), 200, 'first page');
    expect(first.items.map(identity)).toEqual(whole.items.map(identity));
    expect(first.nextCursor).toBeNull();
  });

  const base64url = (text: string) => Buffer.from(text).toString('base64url');
  it.each([
    ['not base64 JSON', 'not a cursor!'],
    ['an object', base64url('{"id":1}')],
    ['no key values', base64url('[]')],
    ['one key value of the wrong kind', base64url('[42]')],
    ['more key values than the order has', base64url('["yesterday",42,"not-a-uuid"]')],
    ['a time and a non-uuid id', base64url('["2026-01-01T00:00:00.000Z","not-a-uuid"]')],
    ['the old time|id form with a non-uuid id', base64url('2026-01-01T00:00:00.000Z|not-a-uuid')],
    ['a sequence number past bigint', '9999999999999999999'],
    ['a text too long', 'x'.repeat(1_001)],
    // Values that decode but that PostgreSQL cannot compare with: they must not reach it.
    ['a key text with a NUL character', base64url(JSON.stringify(['a\u0000b']))],
    ['a second key text with an unpaired surrogate', base64url(JSON.stringify([1, 'a\ud800b']))],
    ['a time before year 1', base64url(JSON.stringify(['0000-06-01T00:00:00Z', '7c9e1679-7425-40de-944b-e07fc1f90ae7']))],
  ].filter(([what]) => !(CASES[_key]?.textIds && what!.includes('non-uuid'))))('refuses a cursor that is %s with 400 VALIDATION_FAILED on query.cursor', async (_what, cursor) => {
    const response = await get(route, { cursor });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.details.issues.map((issue: { path: string }) => issue.path)).toEqual(['query.cursor']);
  });
});

it.each(['GET /v1/admin/events', 'GET /v1/admin/audit-events', 'GET /v1/admin/grants/:grantId/ledger'])(
  '%s: refuses a cursor whose sequence number is past PostgreSQL bigint with 400, not a database error',
  async (key) => {
    const route = pagedRoutes.find((candidate) => keyOf(candidate) === key)!;
    const response = await get(route, { cursor: Buffer.from('["9223372036854775808"]').toString('base64url') });
    expect(response.status).toBe(400);
    expect(response.body.error.details.issues.map((issue: { path: string }) => issue.path)).toEqual(['query.cursor']);
  },
);

it('does not repeat or skip items when rows are written between pages', async () => {
  const route = pagedRoutes.find((candidate) => keyOf(candidate) === 'GET /v1/admin/coupons')!;
  const before = expectStatus(await get(route, { limit: 500 }), 200, 'coupons').items.map(identity);
  const first = expectStatus(await get(route, { limit: 2 }), 200, 'first page');
  const added = await createCoupon(stack, {}); // newest first: it sorts before the cursor
  const seen = first.items.map(identity);
  let cursor = first.nextCursor as string | null;
  while (cursor) {
    const page = expectStatus(await get(route, { limit: 2, cursor }), 200, 'next page');
    seen.push(...page.items.map(identity));
    cursor = page.nextCursor;
  }
  expect(seen).toEqual(before);
  expect(seen).not.toContain(added.id);
});
