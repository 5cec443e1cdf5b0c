/**
 * Reports on a year of data: grows a throwaway PostgreSQL with set-based SQL (generate_series), then
 * times each report a few times and samples this process's RSS during the CSV export.
 *
 *   node --import tsx scripts/bench/reports-data.ts [--ledger 3000000] [--grants 1000000] [--reps 7]
 *
 * "before" is the ledger-only statistics (the query the statistics ran before the rollup) and the
 * expiring-window listing without the (expires_at, id) index; "after" is what the code runs now.
 * The data: `--ledger` consumptions over the last 365 days for 3,000 users and 5 actions (1 in 50
 * refunded in part), `--grants` grants with expiries spread over a year either side of now, and
 * 200,000 earnings entries of one seller over the year.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { parseArgs } from 'node:util';
import { startPostgres } from '../services';
import { migrate } from '../../prisma/migrate';
import { seedDatabase } from '../../prisma/seed';
import { createDatabase, type Database } from '../../platform/database';
import { consumptionStats, exportConsumptionsCsv } from '../../modules/reports';
import { consumptionStatsFromLedger } from '../../modules/reports/reports';
import { listPackagesByExpiry, runConsumptionRollup } from '../../modules/lifecycle';
import { earningsByPeriod, exportEarningsCsv } from '../../modules/sellers';

const { values: args } = parseArgs({
  options: { ledger: { type: 'string', default: '3000000' }, grants: { type: 'string', default: '1000000' }, reps: { type: 'string', default: '7' } },
});
const LEDGER_ROWS = Number(args.ledger);
const GRANTS = Number(args.grants);
const REPS = Number(args.reps);
const DAY = 86_400_000;

async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  console.log(`${what}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

async function grow(db: Database): Promise<string> {
  await timed(`${LEDGER_ROWS} consumptions`, () => db.$executeRawUnsafe(`
    INSERT INTO consumption_records (id, user_id, action_key, quantity, unit_price, credits_cost, credits_refunded, created_at)
    SELECT gen_random_uuid(), 'bench-user-' || (n % 3000), (ARRAY['ai_chat','resume_optimize','export','search','summary'])[1 + n % 5],
           1 + n % 3, 2, 2 * (1 + n % 3), CASE WHEN n % 50 = 0 THEN 1 ELSE 0 END,
           now() - (n::float8 / ${LEDGER_ROWS}) * interval '365 days'
    FROM generate_series(1, ${LEDGER_ROWS}) AS n`));
  await timed('refunds', () => db.$executeRawUnsafe(`
    INSERT INTO consumption_refunds (id, consumption_id, credits, reason, actor, created_at)
    SELECT gen_random_uuid(), id, 1, 'bench', 'bench', created_at + interval '1 hour' FROM consumption_records WHERE credits_refunded = 1`));
  await timed(`${GRANTS} grants`, () => db.$executeRawUnsafe(`
    INSERT INTO user_packages (id, user_id, source, status, total_credits, priority, expires_at, created_at, updated_at)
    SELECT gen_random_uuid(), 'bench-user-' || (n % 3000), 'gift', (CASE WHEN n % 2 = 0 THEN 'active' ELSE 'expired' END)::"GrantStatus",
           100, 100, now() + ((n % 730) - 365) * interval '1 day' + (n % 86400) * interval '1 second', now(), now()
    FROM generate_series(1, ${GRANTS}) AS n`));
  const [seller] = await db.$queryRawUnsafe<Array<{ id: string }>>(
    `INSERT INTO sellers (id, code, name, updated_at) VALUES (gen_random_uuid(), 'bench-seller', 'Bench seller', now()) RETURNING id::text`,
  );
  await timed('200000 earnings entries', () => db.$executeRawUnsafe(`
    INSERT INTO seller_earning_entries (source_key, seller_id, order_id, kind, currency, gross_minor, platform_fee_minor, seller_share_minor, fee_basis_points, occurred_at)
    SELECT 'bench-' || n, '${seller!.id}', gen_random_uuid(), 'sale', 'USD', 799, 120, 679, 1500, now() - (n::float8 / 200000) * interval '365 days'
    FROM generate_series(1, 200000) AS n`));
  await timed('analyze', () => db.$executeRawUnsafe('ANALYZE'));
  await timed('rollup of the year', () => runConsumptionRollup(db, {}, 370));
  return seller!.id;
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(label: string, work: () => Promise<unknown>): Promise<void> {
  await work(); // warm the cache: the figures are for a warm database, as a busy one is
  const samples: number[] = [];
  for (let i = 0; i < REPS; i += 1) {
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  console.log(`| ${label} | ${percentile(samples, 50).toFixed(1)} | ${percentile(samples, 99).toFixed(1)} |`);
}

/** EXPLAIN (ANALYZE, BUFFERS) of a query the reports run, its plan's lines. */
async function explain(db: Database, label: string, sql: string): Promise<void> {
  const plan = await db.$queryRawUnsafe<Array<{ 'QUERY PLAN': string }>>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`);
  console.log(`\n-- ${label}\n${plan.map((row) => row['QUERY PLAN']).join('\n')}`);
}

/** Peak RSS of this process while the whole export is read (and thrown away). */
async function exportPeakRss(label: string, open: () => Promise<Readable>): Promise<void> {
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const started = performance.now();
  const stream = await open();
  let bytes = 0;
  for await (const chunk of stream) bytes += (chunk as Buffer).length;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const mib = (n: number) => (n / 1_048_576).toFixed(1);
  console.log(`${label}: ${mib(bytes)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s, RSS ${mib(baseline)} -> peak ${mib(peak)} MiB`);
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reports-bench-'));
  const postgres = await startPostgres({ dataDir: path.join(dataDir, 'pg'), ephemeral: true });
  try {
    await migrate(postgres.url);
    await seedDatabase(postgres.url);
    const db = createDatabase(postgres.url, 5);
    const sellerId = await timed('grow', () => grow(db));
    const [{ size }] = (await db.$queryRawUnsafe<Array<{ size: string }>>(`SELECT pg_size_pretty(pg_database_size(current_database())) AS size`)) as [{ size: string }];
    console.log(`database size ${size}`);

    const now = Date.now();
    const yearAgo = new Date(now - 365 * DAY).toISOString();
    const monthAgo = new Date(now - 30 * DAY).toISOString();
    const tomorrow = new Date(now + DAY).toISOString();
    console.log(`\n| report (${REPS} runs, warm) | p50 ms | p99 ms |\n|---|---|---|`);
    await measure('stats per day, a year, before (ledger only)', () => consumptionStatsFromLedger(db, { from: yearAgo, to: tomorrow }, 'day'));
    await measure('stats per day, a year, after (rollup + today)', () => consumptionStats(db, { from: yearAgo, to: tomorrow }, 'day'));
    await measure('stats per action, no range, before', () => consumptionStatsFromLedger(db, {}, 'action'));
    await measure('stats per action, no range, after', () => consumptionStats(db, {}, 'action'));
    await measure('stats per day, 30 days, one action, before', () => consumptionStatsFromLedger(db, { from: monthAgo, actionKey: 'export' }, 'day'));
    await measure('stats per day, 30 days, one action, after', () => consumptionStats(db, { from: monthAgo, actionKey: 'export' }, 'day'));
    await measure('stats of one user, a year', () => consumptionStats(db, { userId: 'bench-user-42' }, 'day'));
    await measure('seller earnings per day, a year', () => earningsByPeriod(db, sellerId, { from: yearAgo, to: tomorrow, granularity: 'day' }));
    await measure('seller earnings per month, no range', () => earningsByPeriod(db, sellerId, { granularity: 'month' }));
    const window = { expiresAfter: new Date(now), expiresBefore: new Date(now + 7 * DAY) };
    await measure('expiring in 7 days, first page of 100, after', () => listPackagesByExpiry(db, window, { limit: 100 }));
    await measure('expiring in 7 days, active, first page of 100', () => listPackagesByExpiry(db, { ...window, status: 'active' }, { limit: 100 }));
    const expiring = `SELECT * FROM user_packages WHERE expires_at IS NOT NULL AND expires_at >= now() AND expires_at < now() + interval '7 days' ORDER BY expires_at, id LIMIT 101`;
    await explain(db, 'expiring window, after', expiring);
    await explain(db, 'earnings per day, a year', `SELECT date_trunc('day', occurred_at AT TIME ZONE 'UTC'), currency, count(*), sum(gross_minor) FROM seller_earning_entries WHERE seller_id = '${sellerId}' AND occurred_at >= now() - interval '365 days' GROUP BY 1, 2`);
    await explain(db, 'statistics per day over a year, ledger only', `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), count(*), sum(credits_cost) FROM consumption_records WHERE created_at >= now() - interval '365 days' GROUP BY 1 ORDER BY 1`);
    await explain(db, 'statistics: the ledger part outside the rolled-up days (today)', `SELECT count(*), sum(credits_cost) FROM consumption_records WHERE created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`);
    await db.$executeRawUnsafe('DROP INDEX user_packages_expires_at_id_idx');
    await explain(db, 'expiring window, before', expiring);
    await measure('expiring in 7 days, first page of 100, before (no index)', () => listPackagesByExpiry(db, window, { limit: 100 }));

    await exportPeakRss('consumptions CSV, 30 days', async () => (await exportConsumptionsCsv(db, { from: monthAgo, to: tomorrow })).stream);
    await exportPeakRss('consumptions CSV, a year', async () => (await exportConsumptionsCsv(db, { from: yearAgo, to: tomorrow })).stream);
    // After first: an RSS that grew for one export does not shrink for the next one.
    await exportPeakRss('seller earnings CSV, a year, after', () => exportEarningsCsv(db, sellerId, { from: yearAgo, to: tomorrow }));
    await exportPeakRss('seller earnings CSV, a year, before (one query of every entry)', async () => {
      const entries = await db.$queryRawUnsafe<Array<Record<string, unknown>>>(
        `SELECT id, occurred_at, kind, order_id, currency, gross_minor, platform_fee_minor, seller_share_minor, fee_basis_points
           FROM seller_earning_entries WHERE seller_id = '${sellerId}'::uuid AND occurred_at >= '${yearAgo}' ORDER BY occurred_at, id LIMIT 100000`,
      );
      const csv = stringify({ header: true, record_delimiter: 'windows', cast: { date: (value) => value.toISOString(), bigint: (value) => value.toString() } });
      return Readable.from(entries).pipe(csv);
    });
    await db.$disconnect();
  } finally {
    await postgres.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
