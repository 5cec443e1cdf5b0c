/**
 * Reports that must not grow with the whole ledger: the statistics read closed days from the daily
 * rollup and only the rest from the ledger, and must answer exactly what the ledger alone answers
 * (across day boundaries, with today's live part and with refunds made after the rollup ran); the CSV
 * export reads the ledger in pages only as fast as its reader takes the rows.
 * Every query is narrowed to an action key or a user created here, so parallel files cannot interfere.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { grantCredits, newUserId, startStack, type TestStack } from './support/stack';
import { consumptionStats, consumptionStatsFromLedger } from '../modules/reports/reports';
import { exportConsumptionsCsv } from '../modules/reports';
import { latestRollupCoverage, runConsumptionRollup } from '../modules/lifecycle';
import type { Database } from '../platform/database';
import type { StatsGroupBy } from '../modules/reports/views';
import { exportEarningsCsv } from '../modules/sellers';
import { createActionPrice, deductOk, expectStatus, setConsumptionTime } from './support/fixtures';
import { waitFor } from './support/wait';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ withWorker: false });
});
afterAll(async () => {
  await stack?.close();
});

const DAY = 86_400_000;

function utcMidnight(daysAgo: number): number {
  const now = new Date();
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - daysAgo * DAY;
}

async function refund(consumptionId: string, credits: number): Promise<void> {
  const body = { credits, reason: 'action failed' };
  expectStatus(await stack.call('POST', `/v1/internal/consumptions/${consumptionId}/refund`, { body, idempotencyKey: randomUUID() }), 201, 'refund');
}

describe('consumption statistics from the daily rollup', () => {
  it('equal the ledger-only answer across day boundaries, with today live and refunds made after the rollup', async () => {
    const { actionKey } = await createActionPrice(stack, { creditsPerUnit: 3 });
    const userId = newUserId('rollup-stats');
    await grantCredits(stack.db, userId, 10_000);
    // Closed days on both sides of midnights, one older than the rollup's default three-day window.
    const instants = [
      utcMidnight(6) + 12 * 3_600_000,
      utcMidnight(5) - 1,
      utcMidnight(5),
      utcMidnight(5) + 1,
      utcMidnight(2) - 1,
      utcMidnight(1),
      utcMidnight(0) - 1,
    ];
    const placed: string[] = [];
    for (const [index, at] of instants.entries()) {
      const consumption = await deductOk(stack, userId, actionKey, index + 1);
      await setConsumptionTime(stack, consumption.id, new Date(at));
      placed.push(consumption.id);
    }
    await refund(placed[1]!, 2); // before the rollup: in its rows
    await runConsumptionRollup(stack.db, {}, 10);
    const coverage = await latestRollupCoverage(stack.db);
    expect(coverage && Date.parse(coverage.coveredFrom) <= utcMidnight(6)).toBe(true);
    expect(await stack.db.dailyConsumptionRollup.count({ where: { actionKey } })).toBe(4); // days -6, -5, -3 and -1

    await refund(placed[2]!, 3); // after the rollup, on a rolled-up day: added from the refunds since
    await deductOk(stack, userId, actionKey, 2); // today: only in the ledger
    const expectEqual = async (range: { from?: string; to?: string }) => {
      for (const groupBy of ['day', 'action'] as StatsGroupBy[]) {
        const filter = { actionKey, ...range };
        expect(await consumptionStats(stack.db, filter, groupBy)).toEqual(await consumptionStatsFromLedger(stack.db, filter, groupBy));
      }
    };
    await expectEqual({});
    await expectEqual({ from: new Date(utcMidnight(5) - 1).toISOString() });
    await expectEqual({ from: new Date(utcMidnight(5) + 1).toISOString(), to: new Date(Date.now() + DAY).toISOString() });
    await expectEqual({ from: new Date(utcMidnight(6) + 13 * 3_600_000).toISOString(), to: new Date(utcMidnight(1)).toISOString() });
    await expectEqual({ from: new Date(utcMidnight(5)).toISOString(), to: new Date(utcMidnight(2)).toISOString() });
    const total = await consumptionStats(stack.db, { actionKey }, 'action');
    expect(total.rows).toEqual([{ key: actionKey, consumptions: 8, quantity: 30, creditsCost: 90, creditsRefunded: 5, netCredits: 85 }]);

    // A later run rebuilds only its last three days, and the day refunded since the previous run: a
    // refund older than both windows stays counted once, and later ones still land.
    await runConsumptionRollup(stack.db);
    await refund(placed[0]!, 1);
    await expectEqual({});
    await runConsumptionRollup(stack.db);
    await expectEqual({});
    await expectEqual({ from: new Date(utcMidnight(7)).toISOString(), to: new Date(utcMidnight(4)).toISOString() });
    expect((await consumptionStats(stack.db, { actionKey }, 'action')).rows[0]).toMatchObject({ consumptions: 8, creditsRefunded: 6 });
  });
});

/** Counts the queries a database handle runs, to see how far the export has read. */
function countingQueries(db: Database): { db: Database; queries: () => number } {
  let count = 0;
  const counted = new Proxy(db, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property === '$queryRaw' && typeof value === 'function') {
        return (...args: unknown[]) => {
          count += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return value;
    },
  });
  return { db: counted, queries: () => count };
}

async function readAll(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

describe('the consumption CSV export', () => {
  it('streams many rows: it reads the next page only when the reader has taken the rows before it', async () => {
    const userId = newUserId('csv-stream');
    const rows = 12_000; // three pages of 5,000
    await stack.db.$executeRaw`
      INSERT INTO consumption_records (id, user_id, action_key, quantity, unit_price, credits_cost, created_at)
      SELECT gen_random_uuid(), ${userId}, 'ai_chat', 1, 1, 1, now() - make_interval(secs => n)
      FROM generate_series(1, ${rows}::int) AS n`;
    const { db, queries } = countingQueries(stack.db);
    const exported = await exportConsumptionsCsv(db, { userId });
    const afterCount = queries(); // the bounded count that decides the truncated header
    expect(exported.truncated).toBe(false);

    // Nobody reads: the export fills its buffers, stops asking for rows, and has read one page.
    exported.stream.pause();
    await waitFor(async () => exported.stream.readableLength >= exported.stream.readableHighWaterMark, 30_000, 'the export to fill its buffer');
    await new Promise((resolve) => setImmediate(resolve));
    expect(queries() - afterCount).toBe(1);

    const text = await readAll(exported.stream);
    expect(text.split('\r\n').filter(Boolean)).toHaveLength(rows + 1);
    expect(queries() - afterCount).toBe(3);
  });
});

describe("a seller's earnings CSV export", () => {
  it('streams many entries in keyset pages, oldest first, each once', async () => {
    const sellerId = randomUUID();
    const entries = 12_000; // three pages of 5,000
    await stack.db.$executeRaw`INSERT INTO sellers (id, code, name, updated_at) VALUES (${sellerId}::uuid, ${`s-${sellerId.slice(0, 8)}`}, 'Streaming seller', now())`;
    // Pairs share an instant, so the keyset's tie-break on id is exercised at page edges too.
    await stack.db.$executeRaw`
      INSERT INTO seller_earning_entries (source_key, seller_id, order_id, kind, currency, gross_minor, platform_fee_minor, seller_share_minor, fee_basis_points, occurred_at)
      SELECT ${sellerId} || '-' || n, ${sellerId}::uuid, gen_random_uuid(), 'sale', 'USD', 799, 120, 679, 1500, timestamptz '2026-01-01' + (n / 2) * interval '1 second'
      FROM generate_series(1, ${entries}::int) AS n`;
    const { db, queries } = countingQueries(stack.db);
    const stream = await exportEarningsCsv(db, sellerId, {});
    stream.pause();
    await waitFor(async () => stream.readableLength >= stream.readableHighWaterMark, 30_000, 'the export to fill its buffer');
    await new Promise((resolve) => setImmediate(resolve));
    expect(queries()).toBe(1);

    const lines = (await readAll(stream)).split('\r\n').filter(Boolean).slice(1);
    expect(lines).toHaveLength(entries);
    const ids = lines.map((line) => BigInt(line.split(',')[0]!));
    expect(new Set(ids).size).toBe(entries);
    expect(ids.every((id, index) => index === 0 || id > ids[index - 1]!)).toBe(true);
    expect(queries()).toBe(3);
  });
});
