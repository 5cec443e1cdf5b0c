/**
 * Grows a billing database to a year of use, with set-based SQL (INSERT ... SELECT over generate_series),
 * so the bench can measure the hot paths on full tables rather than empty ones (docs/performance.md →
 * "A year of data"). At scale 1: 1,000,000 users with one grant each, 10,000,000 ledger entries (a grant
 * entry per user, the rest deducts), 10,000,000 idempotency keys, 5,000,000 events, each delivered once to
 * a (since deleted) webhook endpoint. BENCH_GROW_SCALE scales every count (0.1: a tenth).
 *
 * Rows keep the schema's invariants: per grant, the ledger's sums equal its columns (available = total -
 * used - reserved = sum(amount), used = sum(used_delta), reserved = sum(reserved_delta) = 0), which is what
 * the daily inspection checks; every event is relayed (the relay has nothing to catch up on) and every
 * grant is live and unexpired (the inspection finds nothing but the dead letters). Distribution: deducts per
 * user follow a Zipf law by rank (a few users with tens of thousands, the median user with three), and
 * timestamps spread over the last 365 days.
 *
 * Each batch is one statement in its own transaction (a few hundred thousand rows), so WAL and memory stay
 * bounded; ANALYZE at the end. Standalone: `DATABASE_URL=... npx tsx scripts/bench/grow.ts` (a migrated
 * database; BENCH_GROW_SCALE as above).
 */
import { performance } from 'node:perf_hooks';
import { Client as PgClient } from 'pg';

export interface GrowSizes {
  users: number;
  /** All ledger entries: one 'grant' entry per user, the rest 'deduct' entries. */
  ledgerEntries: number;
  idempotencyKeys: number;
  events: number;
  /** One per event, to one endpoint (at most `events`). */
  deliveries: number;
}

/** A realistic year (scale 1). */
export const YEAR_OF_DATA: GrowSizes = { users: 1_000_000, ledgerEntries: 10_000_000, idempotencyKeys: 10_000_000, events: 5_000_000, deliveries: 5_000_000 };

export function growSizes(scale: number): GrowSizes {
  const scaled = (n: number) => Math.max(1, Math.round(n * scale));
  return {
    users: scaled(YEAR_OF_DATA.users),
    ledgerEntries: Math.max(scaled(YEAR_OF_DATA.ledgerEntries), scaled(YEAR_OF_DATA.users) + 1),
    idempotencyKeys: scaled(YEAR_OF_DATA.idempotencyKeys),
    events: scaled(YEAR_OF_DATA.events),
    deliveries: Math.min(scaled(YEAR_OF_DATA.deliveries), scaled(YEAR_OF_DATA.events)),
  };
}

/** Rows per statement (one transaction each). */
const BATCH_ROWS = 250_000;
/** Zipf exponent of deducts per user by rank: user 1 is the heaviest; the median user has a handful. */
const ZIPF_EXPONENT = 0.8;
/** Share of deliveries that gave up (dead letters). */
const FAILED_DELIVERY_SHARE = 0.001;
/** Prefix of the grown rows' user ids, keys and scope (apart from the bench's own users). */
const PREFIX = 'grown';

export interface GrowReport {
  sizes: GrowSizes;
  /** Rows written, by table. */
  rows: Record<string, number>;
  seconds: number;
  /** Seconds by step. */
  steps: Record<string, number>;
  databaseBytes: number;
  /** Heap + indexes + TOAST, by table, largest first. */
  tableBytes: Array<{ table: string; bytes: number; rows: number }>;
}

type Log = (line: string) => void;

export async function growDatabase(databaseUrl: string, sizes: GrowSizes, log: Log = () => undefined): Promise<GrowReport> {
  const db = new PgClient({ connectionString: databaseUrl, application_name: 'bench-grow' });
  await db.connect();
  const started = performance.now();
  const steps: Record<string, number> = {};
  const rows: Record<string, number> = {};
  const step = async (name: string, work: () => Promise<number>) => {
    const t0 = performance.now();
    const written = await work();
    steps[name] = Math.round((performance.now() - t0) / 100) / 10;
    rows[name] = written;
    log(`  grow ${name}: ${written.toLocaleString('en')} rows in ${steps[name]} s`);
  };
  try {
    // The bench's data is thrown away with its cluster: no need to wait for each batch's WAL flush.
    await db.query(`SET synchronous_commit = off`);
    await db.query(`SET maintenance_work_mem = '256MB'`);
    await planUsers(db, sizes);
    await step('user_packages', () => insertGrants(db, sizes));
    await step('balance_low_states', () => insertBalanceStates(db));
    await step('credit_ledger_entries', () => insertLedger(db));
    await step('idempotency_records', () => insertIdempotencyKeys(db, sizes));
    await step('events', () => insertEvents(db, sizes));
    await step('webhook_deliveries', () => insertDeliveries(db, sizes));
    const t0 = performance.now();
    await db.query('ANALYZE');
    steps.analyze = Math.round((performance.now() - t0) / 100) / 10;
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    const { databaseBytes, tableBytes } = await databaseSize(db);
    return { sizes, rows, seconds, steps, databaseBytes, tableBytes };
  } finally {
    await db.end();
  }
}

/**
 * The users to grow, one row each: rank i (1 = heaviest), ids, deducts (Zipf, ceil so the total reaches the
 * target), the credits a deduct costs (1..5 by user: their action mix), when the grant was made, and the
 * batch its deducts go in.
 */
async function planUsers(db: PgClient, sizes: GrowSizes): Promise<void> {
  const deducts = sizes.ledgerEntries - sizes.users;
  await db.query(`DROP TABLE IF EXISTS grown_plan`);
  await db.query(
    `CREATE TEMP TABLE grown_plan AS
     WITH ranked AS (SELECT i, power(i, -$2::float8) AS weight FROM generate_series(1, $1::int) AS i),
          scaled AS (SELECT i, ceil($3::float8 * weight / sum(weight) OVER ())::int AS deducts FROM ranked)
     SELECT i,
            '${PREFIX}-user-' || lpad(i::text, 7, '0') AS user_id,
            gen_random_uuid() AS grant_id,
            deducts,
            1 + i % 5 AS cost,
            now() - interval '365 days' * (0.2 + 0.8 * random()) AS granted_at,
            (sum(deducts) OVER (ORDER BY i) / $4)::int AS batch
     FROM scaled`,
    [sizes.users, ZIPF_EXPONENT, deducts, BATCH_ROWS],
  );
  await db.query(`CREATE INDEX ON grown_plan (batch)`);
  await db.query(`ANALYZE grown_plan`);
}

async function batches(db: PgClient): Promise<number> {
  return Number((await db.query<{ n: number }>(`SELECT max(batch) AS n FROM grown_plan`)).rows[0]!.n);
}

/** One active grant per user: total = what the deducts used + a balance left (0 for a few: depleted). */
async function insertGrants(db: PgClient, sizes: GrowSizes): Promise<number> {
  let written = 0;
  for (let from = 1; from <= sizes.users; from += BATCH_ROWS) {
    const result = await db.query(
      `INSERT INTO user_packages (id, user_id, source, status, total_credits, used_credits, reserved_credits, priority, starts_at, expires_at, created_at, updated_at)
       SELECT grant_id, user_id, 'purchase', CASE WHEN i % 50 = 0 THEN 'depleted' ELSE 'active' END::"GrantStatus",
              deducts * cost + CASE WHEN i % 50 = 0 THEN 0 ELSE 100 + (i::bigint * 7919) % 5000 END,
              deducts * cost, 0, 100, granted_at,
              CASE WHEN i % 3 = 0 THEN now() + interval '365 days' * (0.1 + 0.9 * random()) END,
              granted_at, now() - interval '1 day' * random()
       FROM grown_plan WHERE i >= $1 AND i < $2`,
      [from, from + BATCH_ROWS],
    );
    written += result.rowCount ?? 0;
  }
  return written;
}

/** The balance-low rule's note per user (above the threshold: armed), as an assignment leaves it. */
async function insertBalanceStates(db: PgClient): Promise<number> {
  const result = await db.query(
    `INSERT INTO balance_low_states (user_id, below, updated_at) SELECT user_id, false, granted_at FROM grown_plan ON CONFLICT (user_id) DO NOTHING`,
  );
  return result.rowCount ?? 0;
}

/** A 'grant' entry per grant, then each user's deducts spread between the grant and now, batch by batch. */
async function insertLedger(db: PgClient): Promise<number> {
  const grants = await db.query(
    `INSERT INTO credit_ledger_entries (user_id, user_package_id, entry_type, amount, reference_type, reference_id, actor, created_at)
     SELECT p.user_id, p.grant_id, 'grant', g.total_credits, 'grant', p.grant_id::text, 'system', p.granted_at
     FROM grown_plan p JOIN user_packages g ON g.id = p.grant_id`,
  );
  let written = grants.rowCount ?? 0;
  const last = await batches(db);
  for (let batch = 0; batch <= last; batch++) {
    const result = await db.query(
      `INSERT INTO credit_ledger_entries
         (user_id, user_package_id, entry_type, amount, reserved_delta, used_delta, reference_type, reference_id, idempotency_key, actor, created_at)
       SELECT p.user_id, p.grant_id, 'deduct', -p.cost, 0, p.cost, 'consumption', gen_random_uuid()::text,
              '${PREFIX}-deduct-' || p.i || '-' || j, 'service:${PREFIX}',
              p.granted_at + (now() - p.granted_at) * ((j - random()) / p.deducts)
       FROM grown_plan p CROSS JOIN LATERAL generate_series(1, p.deducts) AS j
       WHERE p.batch = $1
       ORDER BY 11`,
      [batch],
    );
    written += result.rowCount ?? 0;
  }
  return written;
}

/** Stored first answers, as a deduct leaves them, created over the year in order. */
async function insertIdempotencyKeys(db: PgClient, sizes: GrowSizes): Promise<number> {
  let written = 0;
  for (let from = 1; from <= sizes.idempotencyKeys; from += BATCH_ROWS) {
    const result = await db.query(
      `INSERT INTO idempotency_records (scope, key, request_hash, status_code, response_text, created_at)
       SELECT 'service:${PREFIX}', gen_random_uuid()::text, md5(g::text), 201,
              json_build_object('consumptionId', gen_random_uuid(), 'userId', '${PREFIX}-user-' || lpad((1 + (g * 7919) % $4)::text, 7, '0'),
                                'actionKey', 'ai_chat', 'quantity', 1, 'creditsCost', 1 + g % 5, 'replayed', false)::text,
              now() - interval '365 days' * (1 - g::float8 / $3)
       FROM generate_series($1::bigint, $2::bigint - 1) AS g`,
      [from, Math.min(from + BATCH_ROWS, sizes.idempotencyKeys + 1), sizes.idempotencyKeys, sizes.users],
    );
    written += result.rowCount ?? 0;
  }
  return written;
}

/** Events in time order (seq follows occurred_at, as the outbox writes them), all relayed. */
async function insertEvents(db: PgClient, sizes: GrowSizes): Promise<number> {
  // Events, deliveries and their attempts live in monthly partitions: the year's months must exist first.
  await db.query(`SELECT count(*) FROM ensure_event_partitions(now() - interval '366 days', now() + interval '1 day')`);
  let written = 0;
  for (let from = 1; from <= sizes.events; from += BATCH_ROWS) {
    const result = await db.query(
      // Every random() in the select list or in a subquery that refers to g: an uncorrelated LATERAL
      // subquery is evaluated once per statement, giving every row the same value.
      `INSERT INTO events (id, type, user_id, payload, occurred_at, relayed_at)
       SELECT gen_random_uuid(), t.type, '${PREFIX}-user-' || lpad((1 + floor($4 * power(random(), 3)))::int::text, 7, '0'),
              t.payload, t.at, t.at + interval '50 milliseconds'
       FROM generate_series($1::bigint, $2::bigint - 1) AS g
       CROSS JOIN LATERAL (
         SELECT CASE WHEN g % 20 = 0 THEN 'reservation.committed' WHEN g % 50 = 1 THEN 'credits.granted' ELSE 'credits.deducted' END AS type,
                jsonb_build_object('consumptionId', gen_random_uuid(), 'actionKey', 'ai_chat', 'quantity', 1, 'credits', 1 + g % 5) AS payload,
                now() - interval '365 days' * (1 - g::float8 / $3) AS at
       ) t`,
      [from, Math.min(from + BATCH_ROWS, sizes.events + 1), sizes.events, sizes.users],
    );
    written += result.rowCount ?? 0;
  }
  return written;
}

/**
 * One delivery per event to one endpoint, since deleted (so the relay sends nothing new to it during the
 * bench): delivered a second later, a few given up (dead letters).
 */
async function insertDeliveries(db: PgClient, sizes: GrowSizes): Promise<number> {
  const endpointId = (
    await db.query<{ id: string }>(
      `INSERT INTO webhook_endpoints (id, url, description, event_types, enabled, secret_ciphertext, created_at, updated_at, deleted_at)
       VALUES (gen_random_uuid(), 'https://hooks.example.com/${PREFIX}', 'grown by the bench', '{}', false, 'unused', now() - interval '366 days', now(), now())
       RETURNING id`,
    )
  ).rows[0]!.id;
  const { rows } = await db.query<{ first: string }>(`SELECT min(seq) AS first FROM events WHERE user_id LIKE '${PREFIX}-user-%'`);
  const first = Number(rows[0]!.first);
  let written = 0;
  for (let from = first; from < first + sizes.deliveries; from += BATCH_ROWS) {
    const result = await db.query(
      `INSERT INTO webhook_deliveries (id, event_id, event_occurred_at, endpoint_id, status, attempt_count, last_error, delivered_at, created_at, updated_at)
       SELECT gen_random_uuid(), e.id, e.occurred_at, $3, d.status, CASE WHEN d.status = 'failed' THEN 8 ELSE 1 END,
              CASE WHEN d.status = 'failed' THEN 'HTTP 503' END,
              CASE WHEN d.status = 'delivered' THEN e.occurred_at + interval '1 second' END,
              e.relayed_at, e.relayed_at + interval '1 second'
       FROM events e CROSS JOIN LATERAL (SELECT CASE WHEN e.seq % $4 = 0 THEN 'failed' ELSE 'delivered' END AS status) d
       WHERE e.seq >= $1 AND e.seq < $2`,
      [from, Math.min(from + BATCH_ROWS, first + sizes.deliveries), endpointId, Math.round(1 / FAILED_DELIVERY_SHARE)],
    );
    written += result.rowCount ?? 0;
  }
  return written;
}

export async function databaseSize(db: PgClient): Promise<Pick<GrowReport, 'databaseBytes' | 'tableBytes'>> {
  const size = await db.query<{ bytes: string }>(`SELECT pg_database_size(current_database()) AS bytes`);
  const tables = await db.query<{ table: string; bytes: string; rows: string }>(
    // A partitioned table (events and what is made from them) counts its partitions.
    `SELECT c.relname AS table,
            COALESCE((SELECT sum(pg_total_relation_size(t.relid)) FROM pg_partition_tree(c.oid) t), pg_total_relation_size(c.oid))::bigint AS bytes,
            COALESCE((SELECT sum(greatest(p.reltuples, 0)) FROM pg_partition_tree(c.oid) t JOIN pg_class p ON p.oid = t.relid WHERE t.isleaf), c.reltuples)::bigint AS rows
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = 'public' ORDER BY 2 DESC LIMIT 12`,
  );
  return {
    databaseBytes: Number(size.rows[0]!.bytes),
    tableBytes: tables.rows.map((row) => ({ table: row.table, bytes: Number(row.bytes), rows: Number(row.rows) })),
  };
}

export function growScale(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.BENCH_GROW_SCALE;
  if (raw === undefined || raw === '') return DEFAULT_GROW_SCALE;
  const scale = Number(raw);
  if (!Number.isFinite(scale) || scale <= 0 || scale > 10) throw new Error(`BENCH_GROW_SCALE=${raw}: expected a number in (0, 10]`);
  return scale;
}

/** The routine run's scale (a tenth of a year: minutes on two cores); BENCH_GROW_SCALE=1 is the full year. */
export const DEFAULT_GROW_SCALE = 0.1;

export function describeGrowth(report: GrowReport): string[] {
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  return [
    `grew ${Object.entries(report.rows).map(([table, n]) => `${table} ${n.toLocaleString('en')}`).join(', ')} in ${report.seconds} s ` +
      `(${Object.entries(report.steps).map(([name, s]) => `${name} ${s} s`).join(', ')})`,
    `database ${gib(report.databaseBytes)}; largest tables (heap + indexes): ${report.tableBytes.map((t) => `${t.table} ${mib(t.bytes)}`).join(', ')}`,
  ];
}

if (require.main === module) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('DATABASE_URL is required (a migrated database)\n');
    process.exit(2);
  }
  const sizes = growSizes(growScale());
  growDatabase(url, sizes, (line) => process.stdout.write(`${line}\n`)).then(
    (report) => {
      for (const line of describeGrowth(report)) process.stdout.write(`${line}\n`);
    },
    (error: unknown) => {
      process.stderr.write(`grow failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
