/**
 * What users and operators read: a user's balance and consumption history (keyset pagination and
 * filters), the admin statistics per action and per UTC day, and the CSV export.
 * Consumptions are moved to fixed instants so ordering, day buckets and time filters are exact;
 * every query is narrowed to users (or an action key) created here, so parallel files cannot interfere.
 */
import { randomUUID } from 'node:crypto';
import { expectLedgerInvariant, grantCredits, newUserId, startStack, type TestStack } from './support/stack';
import { consumptionStats } from '../modules/reports/reports';
import type { Database } from '../platform/database';
import { createActionPrice, deductOk, expectStatus, issuePaths, query, setConsumptionTime, uniqueKey } from './support/fixtures';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ withWorker: false });
});
afterAll(async () => {
  await stack?.close();
});

const DAY = 86_400_000;
const MINUTE = 60_000;

interface Consumption {
  id: string;
  actionKey: string;
  createdAt: string;
}

/** Deducts `actionKey` x`quantity` for the user and moves the record to `at`. */
async function consumeAt(userId: string, actionKey: string, at: string, quantity = 1): Promise<Consumption> {
  const consumption = await deductOk(stack, userId, actionKey, quantity);
  await setConsumptionTime(stack, consumption.id, at);
  return { id: consumption.id, actionKey, createdAt: new Date(at).toISOString() };
}

/** The order the history promises: createdAt descending, then id descending. */
function newestFirst(consumptions: Consumption[]): string[] {
  return [...consumptions]
    .sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1))
    .map((c) => c.id);
}

/** Follows nextCursor to the end; returns the size of every page and all ids in order. */
async function readAllPages(userId: string, params: Record<string, string | number | undefined>) {
  const pageSizes: number[] = [];
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pageNumber = 0; pageNumber < 20; pageNumber++) {
    const page = expectStatus(
      await stack.call('GET', `/v1/me/consumptions${query({ ...params, cursor })}`, { as: { user: userId } }),
      200,
      'consumption page',
    );
    pageSizes.push(page.items.length);
    ids.push(...page.items.map((item: { id: string }) => item.id));
    if (page.nextCursor === null) return { pageSizes, ids };
    cursor = page.nextCursor;
  }
  throw new Error('pagination did not end after 20 pages');
}

function stats(params: Record<string, string | undefined>) {
  return stack.call('GET', `/v1/admin/consumptions/stats${query(params)}`, { as: 'admin' });
}

function exportCsv(params: Record<string, string | undefined>) {
  return stack.call('GET', `/v1/admin/consumptions/export.csv${query(params)}`, { as: 'admin' });
}

function refund(consumptionId: string, credits?: number) {
  return stack.call('POST', `/v1/internal/consumptions/${consumptionId}/refund`, {
    body: { reason: 'action failed', ...(credits === undefined ? {} : { credits }) },
  });
}

// -------------------------------------------------------------------------------------------------

describe('GET /v1/me/credits', () => {
  it('totals the spendable grants only and lists the others unspendable, in burn-down order', async () => {
    const userId = newUserId();
    // Spent first: the depleted grant (2) and 3 credits of the partly used one.
    const depleted = await grantCredits(stack.db, userId, 2, { priority: 5 });
    const partlyUsed = await grantCredits(stack.db, userId, 8, { priority: 20, expiresAt: new Date(Date.now() + 10 * DAY) });
    await deductOk(stack, userId, 'pdf_export', 5);

    const expiredByTime = await grantCredits(stack.db, userId, 100, { priority: 1, expiresAt: new Date(Date.now() - 1000) });
    const pending = await grantCredits(stack.db, userId, 200, { priority: 2, status: 'pending' });
    const notStarted = await grantCredits(stack.db, userId, 300, { priority: 3, startsAt: new Date(Date.now() + DAY) });
    const expiredByStatus = await grantCredits(stack.db, userId, 400, { priority: 4 });
    await stack.db.userPackage.update({ where: { id: expiredByStatus }, data: { status: 'expired' } });
    const soonExpiring = await grantCredits(stack.db, userId, 5, { priority: 10, expiresAt: new Date(Date.now() + 5 * DAY) });
    const neverExpiring = await grantCredits(stack.db, userId, 10, { priority: 50 });

    const response = await stack.call('GET', '/v1/me/credits', { as: { user: userId } });
    expect(response.status).toBe(200);
    expect(response.body.userId).toBe(userId);
    expect(response.body.availableCredits).toBe(5 + 5 + 10);
    expect(response.body.grants.map((g: { id: string; availableCredits: number; spendable: boolean }) => [g.id, g.availableCredits, g.spendable])).toEqual([
      [expiredByTime, 100, false],
      [pending, 200, false],
      [notStarted, 300, false],
      [depleted, 0, false],
      [soonExpiring, 5, true],
      [partlyUsed, 5, true],
      [neverExpiring, 10, true],
    ]);
    const spendableSum = response.body.grants
      .filter((g: { spendable: boolean }) => g.spendable)
      .reduce((sum: number, g: { availableCredits: number }) => sum + g.availableCredits, 0);
    expect(response.body.availableCredits).toBe(spendableSum);

    // The balance is what a spend can actually take.
    const check = await stack.call('POST', '/v1/internal/credits/check', { body: { userId, actionKey: 'ai_chat' } });
    expect(check.body.available).toBe(20);
    await expectLedgerInvariant(stack.db, userId);
  });

  it('answers 0 and no grants for a user who has none', async () => {
    const userId = newUserId();
    const response = await stack.call('GET', '/v1/me/credits', { as: { user: userId } });
    expect(response.body).toEqual({ userId, availableCredits: 0, grants: [] });
  });
});

// -------------------------------------------------------------------------------------------------

describe('GET /v1/me/consumptions', () => {
  const base = Date.parse('2024-03-10T10:00:00.000Z');
  const at = (minutes: number) => new Date(base + minutes * MINUTE).toISOString();
  const userId = newUserId('history');
  let all: Consumption[];

  beforeAll(async () => {
    await grantCredits(stack.db, userId, 100);
    // Three consumptions share one instant, so a page boundary falls inside a tie on createdAt.
    const plan: Array<[string, number]> = [
      ['ai_chat', 0],
      ['pdf_export', 1],
      ['ai_chat', 2],
      ['pdf_export', 3],
      ['ai_chat', 3],
      ['pdf_export', 3],
      ['ai_chat', 4],
    ];
    all = [];
    for (const [actionKey, minutes] of plan) all.push(await consumeAt(userId, actionKey, at(minutes)));
  });

  it('pages 7 consumptions with limit=3 as 3+3+1, newest first, without duplicates, ending with nextCursor null', async () => {
    const { pageSizes, ids } = await readAllPages(userId, { limit: 3 });
    expect(pageSizes).toEqual([3, 3, 1]);
    expect(ids).toEqual(newestFirst(all));
    expect(new Set(ids).size).toBe(7);
  });

  it('returns nextCursor null when the last page is exactly full', async () => {
    const page = await stack.call('GET', '/v1/me/consumptions?limit=7', { as: { user: userId } });
    expect(page.body.items).toHaveLength(7);
    expect(page.body.nextCursor).toBeNull();
  });

  it('shows each consumption as charged, with the instant it happened', async () => {
    const page = await stack.call('GET', '/v1/me/consumptions?limit=1', { as: { user: userId } });
    const newest = all[all.length - 1]!;
    expect(page.body.items).toEqual([
      {
        id: newest.id,
        userId,
        actionKey: 'ai_chat',
        quantity: 1,
        unitPrice: 1,
        creditsCost: 1,
        creditsRefunded: 0,
        reservationId: null,
        metadata: null,
        allocations: [{ grantId: expect.any(String), credits: 1 }],
        createdAt: at(4),
      },
    ]);
    expect(typeof page.body.nextCursor).toBe('string');
  });

  it('filters by actionKey, across pages', async () => {
    const { pageSizes, ids } = await readAllPages(userId, { limit: 2, actionKey: 'pdf_export' });
    expect(pageSizes).toEqual([2, 1]);
    expect(ids).toEqual(newestFirst(all.filter((c) => c.actionKey === 'pdf_export')));
  });

  it('filters by time: from inclusive, to exclusive', async () => {
    const { ids } = await readAllPages(userId, { from: at(1), to: at(3) });
    expect(ids).toEqual(newestFirst(all.filter((c) => c.createdAt === at(1) || c.createdAt === at(2))));

    const { ids: fromTies } = await readAllPages(userId, { from: at(3), limit: 2 });
    expect(fromTies).toEqual(newestFirst(all.filter((c) => c.createdAt >= at(3))));
  });

  it('refuses a cursor it did not issue and an inverted range with 400', async () => {
    const badCursor = await stack.call('GET', `/v1/me/consumptions?cursor=${Buffer.from('{"id":1}').toString('base64url')}`, { as: { user: userId } });
    expect(badCursor.status).toBe(400);
    expect(issuePaths(badCursor)).toEqual(['query.cursor']);

    const inverted = await stack.call('GET', `/v1/me/consumptions${query({ from: at(3), to: at(1) })}`, { as: { user: userId } });
    expect(inverted.status).toBe(400);
    expect(issuePaths(inverted)).toEqual(['query.from']);
  });
});

// -------------------------------------------------------------------------------------------------

describe('GET /v1/admin/consumptions/stats', () => {
  const userA = newUserId('stats-a');
  const userB = newUserId('stats-b');

  beforeAll(async () => {
    await grantCredits(stack.db, userA, 50);
    await grantCredits(stack.db, userB, 50);
    await consumeAt(userA, 'ai_chat', '2024-05-01T00:00:00.000Z', 1);
    const analysis = await consumeAt(userA, 'advanced_analysis', '2024-05-01T23:59:59.999Z', 2); // 6 credits
    await consumeAt(userA, 'ai_chat', '2024-05-02T00:00:00.000Z', 3);
    const pdf = await consumeAt(userA, 'pdf_export', '2024-05-02T12:00:00.000Z', 1);
    await consumeAt(userB, 'ai_chat', '2024-05-01T10:00:00.000Z', 5);

    expect((await refund(analysis.id, 4)).status).toBe(201);
    expect((await refund(pdf.id)).body).toMatchObject({ credits: 1, consumptionCreditsRefunded: 1 });
  });

  it('sums per action: count, quantity, cost, refunded and net', async () => {
    const response = await stats({ userId: userA, groupBy: 'action' });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      groupBy: 'action',
      rows: [
        { key: 'advanced_analysis', consumptions: 1, quantity: 2, creditsCost: 6, creditsRefunded: 4, netCredits: 2 },
        { key: 'ai_chat', consumptions: 2, quantity: 4, creditsCost: 4, creditsRefunded: 0, netCredits: 4 },
        { key: 'pdf_export', consumptions: 1, quantity: 1, creditsCost: 1, creditsRefunded: 1, netCredits: 0 },
      ],
    });
  });

  it('sums per UTC day (the default grouping), splitting at midnight UTC', async () => {
    const expected = {
      groupBy: 'day',
      rows: [
        { key: '2024-05-01', consumptions: 2, quantity: 3, creditsCost: 7, creditsRefunded: 4, netCredits: 3 },
        { key: '2024-05-02', consumptions: 2, quantity: 4, creditsCost: 4, creditsRefunded: 1, netCredits: 3 },
      ],
    };
    expect((await stats({ userId: userA, groupBy: 'day' })).body).toEqual(expected);
    expect((await stats({ userId: userA })).body).toEqual(expected);
  });

  it('buckets days in UTC whatever the database session time zone', async () => {
    // Far from UTC on both sides: a bucket taken in session time would move rows across midnight.
    for (const timeZone of ['Pacific/Kiritimati', 'America/Los_Angeles']) {
      const rows = await stack.db.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`SET LOCAL TimeZone = '${timeZone}'`);
        const [session] = await tx.$queryRaw<Array<{ tz: string }>>`SELECT current_setting('TimeZone') AS tz`;
        expect(session!.tz).toBe(timeZone);
        return (await consumptionStats(tx as unknown as Database, { userId: userA }, 'day')).rows;
      });
      expect(rows.map((row) => [row.key, row.consumptions])).toEqual([
        ['2024-05-01', 2],
        ['2024-05-02', 2],
      ]);
    }
  });

  it("keeps each user's numbers apart and combines the action and time filters", async () => {
    expect((await stats({ userId: userB, groupBy: 'action' })).body.rows).toEqual([
      { key: 'ai_chat', consumptions: 1, quantity: 5, creditsCost: 5, creditsRefunded: 0, netCredits: 5 },
    ]);
    expect((await stats({ userId: userA, groupBy: 'day', actionKey: 'ai_chat' })).body.rows).toEqual([
      { key: '2024-05-01', consumptions: 1, quantity: 1, creditsCost: 1, creditsRefunded: 0, netCredits: 1 },
      { key: '2024-05-02', consumptions: 1, quantity: 3, creditsCost: 3, creditsRefunded: 0, netCredits: 3 },
    ]);
    expect((await stats({ userId: userA, groupBy: 'action', from: '2024-05-01T00:00:00.001Z', to: '2024-05-02T12:00:00.000Z' })).body.rows).toEqual([
      { key: 'advanced_analysis', consumptions: 1, quantity: 2, creditsCost: 6, creditsRefunded: 4, netCredits: 2 },
      { key: 'ai_chat', consumptions: 1, quantity: 3, creditsCost: 3, creditsRefunded: 0, netCredits: 3 },
    ]);
    expect((await stats({ userId: newUserId('nobody') })).body).toEqual({ groupBy: 'day', rows: [] });
  });

  it('refuses an unknown grouping and an inverted range with 400', async () => {
    const week = await stats({ userId: userA, groupBy: 'week' });
    expect([week.status, issuePaths(week)]).toEqual([400, ['query.groupBy']]);
    const inverted = await stats({ from: '2024-05-02T00:00:00Z', to: '2024-05-01T00:00:00Z' });
    expect([inverted.status, issuePaths(inverted)]).toEqual([400, ['query.from']]);
  });
});

// -------------------------------------------------------------------------------------------------

describe('GET /v1/admin/consumptions/export.csv', () => {
  const HEADER = 'id,created_at,user_id,action_key,quantity,unit_price,credits_cost,credits_refunded,reservation_id\r\n';

  it('exports one RFC 4180 row per consumption of the user, newest first, as an attachment', async () => {
    // '-' starts the user id, so the user_id cell needs the formula-injection guard.
    const userId = `-csv-${randomUUID()}`;
    await grantCredits(stack.db, userId, 50);
    const first = await consumeAt(userId, 'ai_chat', '2024-06-01T08:00:00.000Z', 2);
    const second = await consumeAt(userId, 'advanced_analysis', '2024-06-01T09:30:00.250Z', 1);
    expect((await refund(second.id, 1)).status).toBe(201);

    const response = await exportCsv({ userId });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="consumptions.csv"');
    expect(response.headers.get('x-export-truncated')).toBeNull();
    expect(response.body).toBe(
      HEADER +
        `${second.id},2024-06-01T09:30:00.250Z,'${userId},advanced_analysis,1,3,3,1,\r\n` +
        `${first.id},2024-06-01T08:00:00.000Z,'${userId},ai_chat,2,1,2,0,\r\n`,
    );

    const onlyChat = await exportCsv({ userId, actionKey: 'ai_chat' });
    expect(onlyChat.body).toBe(HEADER + `${first.id},2024-06-01T08:00:00.000Z,'${userId},ai_chat,2,1,2,0,\r\n`);
    const outOfRange = await exportCsv({ userId, from: '2024-06-02T00:00:00Z' });
    expect(outOfRange.body).toBe(HEADER);
  });

  it("guards a user id starting with '@' as well", async () => {
    const userId = `@csv-${randomUUID()}`;
    await grantCredits(stack.db, userId, 5);
    const consumption = await consumeAt(userId, 'pdf_export', '2024-06-03T00:00:00.000Z');
    const response = await exportCsv({ userId });
    expect(response.body).toBe(HEADER + `${consumption.id},2024-06-03T00:00:00.000Z,'${userId},pdf_export,1,1,1,0,\r\n`);
  });

  it('quotes commas, quotes and line breaks, and defuses formulas, for values the API itself would never accept', async () => {
    // Rows written straight to the table (e.g. by a migration or another tool): the export must stay
    // safe whatever a text column holds. An action key made for this test isolates them.
    const actionKey = uniqueKey('csv_probe');
    const awkwardUserIds: Array<[string, string]> = [
      ['=HYPERLINK("http://evil.example","click")', `"'=HYPERLINK(""http://evil.example"",""click"")"`],
      ['+1,2', `"'+1,2"`],
      ['-2+3', `'-2+3`],
      ['@SUM(A1:A9)', `'@SUM(A1:A9)`],
      ['\tcmd', `'\tcmd`],
      ['say "hi"', `"say ""hi"""`],
      ['two\r\nlines', `"two\r\nlines"`],
      ['plain.user', 'plain.user'],
    ];
    const rows: string[] = [];
    for (const [index, [userId, cell]] of awkwardUserIds.entries()) {
      const createdAt = new Date(Date.parse('2024-07-01T00:00:00.000Z') - index * MINUTE);
      const record = await stack.db.consumptionRecord.create({
        data: { userId, actionKey, quantity: 1, unitPrice: 1, creditsCost: 1, createdAt },
      });
      rows.push(`${record.id},${createdAt.toISOString()},${cell},${actionKey},1,1,1,0,\r\n`);
    }

    const response = await exportCsv({ actionKey });
    expect(response.status).toBe(200);
    expect(response.body).toBe(HEADER + rows.join(''));
  });

  it('exports only the header row when nothing matches', async () => {
    const price = await createActionPrice(stack);
    expect((await exportCsv({ actionKey: price.actionKey })).body).toBe(HEADER);
  });
});
