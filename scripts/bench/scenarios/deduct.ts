/**
 * Direct deducts: the cheapest thing the same PostgreSQL can do (a bare conditional UPDATE from 32 `pg`
 * clients), the deduct's own SQL sent straight from `pg` (target 1), and POST /v1/internal/credits/deduct
 * through the API (target 2); GET /healthz as the HTTP stack's own cost.
 */
import { randomUUID } from 'node:crypto';
import { Client as PgClient } from 'pg';
import { cpuLine, type Bench, type PhaseResult } from '../context';
import { databaseWork, databaseWorkLine } from '../database-work';
import type { LoadOp } from '../load';
import { fmt, loadRow, log, printTable, reportErrors, round, write } from '../report';
import type { Scenario } from '../scenario';
import { DEDUCT_STATEMENT, deductArguments } from '../../../modules/credits/spend';
import { ACTION_KEY, type BenchStack } from '../stack';
import { countStatements, describeStatements } from '../statements';

const DEDUCT_CLIENTS = 32;
/** The API's default (modules/events/config.ts); the bench's grants stay far above it. */
const BALANCE_LOW_THRESHOLD = 10;
const BASELINE_UPDATE =
  'UPDATE user_packages SET used_credits = used_credits + 1 WHERE id = $1 AND total_credits - used_credits - reserved_credits >= 1';
/**
 * Targets 1 and 2 (docs/performance.md). Target 2 is the API's deducts over the same bare UPDATE, at
 * half of target 1's goal, so it reads `target 2 api-deduct: 0.131 (goal >= 0.125)`. (Over the deduct
 * SQL's measured rate it would fall whenever the SQL got faster.) api/SQL is printed beside it.
 */
const SQL_OVER_UPDATE_GOAL = 0.25;
const API_OVER_UPDATE_GOAL = 0.5 * SQL_OVER_UPDATE_GOAL;
const API_P99_OVER_SQL_P99_GOAL = 3;

/** One deduct through the API (quantity 1 of ACTION_KEY for a random user). */
export function apiDeductOp(bench: Bench): LoadOp {
  return async () => {
    const answer = await bench.api.post('/v1/internal/credits/deduct', { userId: bench.stack.randomUser(), actionKey: ACTION_KEY, quantity: 1 });
    if (answer.status !== 201) throw new Error(`deduct: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
  };
}

/**
 * Target 1's subject: exactly what a deduct through the API sends (modules/credits/spend.ts): the prepared
 * statement `DEDUCT_STATEMENT` (the `deduct_credits` function: claim, price, lock, burn-down, rows,
 * events, stored answer) with the arguments `deductArguments` builds — the database's share of a
 * deduct, without HTTP, Express or zod. The statement count printed beside it is the API's.
 */
function sqlDeductOp(clients: PgClient[], stack: BenchStack): LoadOp {
  const scope = 'service:bench-sql';
  return async (loop) => {
    const request = { userId: stack.randomUser(), actionKey: ACTION_KEY, quantity: 1 };
    const idempotency = { scope, key: randomUUID(), requestHash: randomUUID() };
    const values = deductArguments(request, idempotency, scope, randomUUID(), new Date(), BALANCE_LOW_THRESHOLD);
    const result = await clients[loop]!.query<{ was_replayed: boolean }>({ ...DEDUCT_STATEMENT, values });
    if (result.rows[0]?.was_replayed !== false) throw new Error('deduct SQL: no fresh answer');
  };
}

async function run(bench: Bench): Promise<void> {
  const { stack, settings } = bench;
  const seconds = settings.measureSeconds;
  const deduct = apiDeductOp(bench);
  await deduct(0); // smoke test; warms the API up
  const statements = await countStatements(stack.admin, stack.postgresLogFile, () => deduct(0));
  log(`SQL statements per API deduct: ${describeStatements(statements)}`);

  log(`deduct baseline: bare conditional UPDATE from ${DEDUCT_CLIENTS} pg clients, ${settings.warmupSeconds}+${seconds} s`);
  const pgClients = await Promise.all(
    Array.from({ length: DEDUCT_CLIENTS }, async () => {
      const pgClient = new PgClient({ connectionString: stack.postgres.url, application_name: 'bench-baseline' });
      await pgClient.connect();
      return pgClient;
    }),
  );
  let pgClientsOpen = true;
  const closePgClients = async () => {
    if (!pgClientsOpen) return;
    pgClientsOpen = false;
    await Promise.all(pgClients.map((pgClient) => pgClient.end().catch(() => undefined)));
  };
  try {
    const bareUpdate: LoadOp = async (loop) => {
      const result = await pgClients[loop]!.query(BASELINE_UPDATE, [stack.randomUserAndGrant().grantId]);
      if (result.rowCount !== 1) throw new Error(`baseline UPDATE touched ${result.rowCount} rows`);
    };
    // The database's writes and background work in each phase, warm-up included (printed per op).
    const withDatabaseWork = async (measure: () => Promise<PhaseResult>): Promise<[PhaseResult, string]> => {
      const before = await databaseWork(stack.admin);
      const result = await measure();
      const operations = result.perSecond * (seconds + settings.warmupSeconds);
      return [result, databaseWorkLine(before, await databaseWork(stack.admin), operations)];
    };
    await stack.settleDatabase();
    const [baseline, baselineWork] = await withDatabaseWork(() => bench.measure('deduct baseline', DEDUCT_CLIENTS, seconds, bareUpdate));
    const baselineSerial = settings.serialSeconds > 0 ? await bench.measure('deduct baseline single client', 1, settings.serialSeconds, bareUpdate, 0.5) : undefined;

    log(`deduct SQL: what the API sends for one deduct (${statements.total} statement(s)) from ${DEDUCT_CLIENTS} pg clients, ${settings.warmupSeconds}+${seconds} s`);
    await stack.settleDatabase();
    const [sql, sqlWork] = await withDatabaseWork(() => bench.measure('deduct SQL via pg', DEDUCT_CLIENTS, seconds, sqlDeductOp(pgClients, stack)));
    await closePgClients();

    log(`deduct api: POST /v1/internal/credits/deduct from ${DEDUCT_CLIENTS} HTTP clients, ${settings.warmupSeconds}+${seconds} s`);
    await stack.settleDatabase();
    bench.api.freshConnections();
    const [api, apiWork] = await withDatabaseWork(() => bench.measure('api deduct', DEDUCT_CLIENTS, seconds, deduct));
    const apiSerial = settings.serialSeconds > 0 ? await bench.measure('api deduct single client', 1, settings.serialSeconds, deduct, 0.5) : undefined;
    log(`deduct reference: GET /healthz (HTTP stack only) from ${DEDUCT_CLIENTS} HTTP clients, 1+${settings.referenceSeconds} s`);
    const healthz: LoadOp = async () => {
      const answer = await bench.api.get('/healthz');
      if (answer.status !== 200) throw new Error(`healthz: HTTP ${answer.status}`);
    };
    const health = await bench.measure('healthz reference', DEDUCT_CLIENTS, settings.referenceSeconds, healthz, 1);

    report(bench, {
      baseline,
      baselineSerial,
      sql,
      api,
      apiSerial,
      health,
      statementsTotal: statements.total,
      statementsLine: describeStatements(statements),
      databaseWork: { baseline: baselineWork, sql: sqlWork, api: apiWork },
    });
    bench.results.deduct = {
      baseline,
      baselineSingleClient: baselineSerial ?? null,
      sqlViaPg: sql,
      api,
      apiSingleClient: apiSerial ?? null,
      referenceHealthz: health,
      apiOverBaselineRatio: round(api.perSecond / baseline.perSecond, 4),
      sqlOverBaselineRatio: round(sql.perSecond / baseline.perSecond, 4),
      apiOverSqlRatio: round(api.perSecond / sql.perSecond, 4),
      apiP99OverSqlP99: round(api.p99 / sql.p99, 3),
      sqlStatementsPerDeduct: statements,
    };
  } finally {
    await closePgClients();
  }
}

interface DeductFigures {
  baseline: PhaseResult;
  baselineSerial?: PhaseResult;
  sql: PhaseResult;
  api: PhaseResult;
  apiSerial?: PhaseResult;
  health: PhaseResult;
  statementsTotal: number;
  statementsLine: string;
  databaseWork: { baseline: string; sql: string; api: string };
}

function report(bench: Bench, f: DeductFigures): void {
  const { settings } = bench;
  const apiOverBaseline = f.api.perSecond / f.baseline.perSecond;
  const sqlOverBaseline = f.sql.perSecond / f.baseline.perSecond;
  const apiOverSql = f.api.perSecond / f.sql.perSecond;
  write(`\nDirect deducts — ${settings.users} users, ${settings.measureSeconds} s measured after ${settings.warmupSeconds} s warm-up\n`);
  printTable(['', 'clients', 'ops/s', 'p50 ms', 'p99 ms', 'ok', 'errors'], [
    loadRow('baseline: bare conditional UPDATE (pg)', f.baseline),
    ...(f.baselineSerial ? [loadRow('baseline, single client', f.baselineSerial)] : []),
    loadRow(`deduct SQL via pg (${f.statementsTotal} statement(s), as the API)`, f.sql),
    loadRow('api: POST /v1/internal/credits/deduct', f.api),
    ...(f.apiSerial ? [loadRow('api, single client', f.apiSerial)] : []),
    loadRow('reference: GET /healthz (no database)', f.health),
  ]);
  reportErrors('baseline', f.baseline);
  reportErrors('sql deduct', f.sql);
  reportErrors('api deduct', f.api);
  reportErrors('healthz', f.health);
  write(
    `  ratio api/baseline: ${apiOverBaseline.toFixed(3)}   (api / the same SQL via pg: ${apiOverSql.toFixed(2)}; SQL via pg / baseline: ${sqlOverBaseline.toFixed(3)})\n` +
      `  CPU ms per op — baseline:       ${cpuLine(f.baseline)}\n` +
      `  CPU ms per op — SQL via pg:     ${cpuLine(f.sql)}\n` +
      `  CPU ms per op — api deduct:     ${cpuLine(f.api)}\n` +
      `  CPU ms per op — GET /healthz:   ${cpuLine(f.health)}\n` +
      `  database per op — baseline:     ${f.databaseWork.baseline}\n` +
      `  database per op — SQL via pg:   ${f.databaseWork.sql}\n` +
      `  database per op — api deduct:   ${f.databaseWork.api}\n` +
      `  SQL statements per op — baseline: 1; api deduct: ${f.statementsLine}\n`,
  );
  bench.target({
    number: 1,
    name: 'deduct-sql',
    value: sqlOverBaseline,
    comparison: '>=',
    goal: SQL_OVER_UPDATE_GOAL,
    meaning: `deduct's SQL via pg ${fmt(f.sql.perSecond)}/s over the bare UPDATE's ${fmt(f.baseline.perSecond)}/s, ${DEDUCT_CLIENTS} clients`,
  });
  bench.target({
    number: 2,
    name: 'api-deduct',
    value: apiOverBaseline,
    comparison: '>=',
    goal: API_OVER_UPDATE_GOAL,
    meaning: `API deducts ${fmt(f.api.perSecond)}/s over the bare UPDATE's ${fmt(f.baseline.perSecond)}/s; ${apiOverSql.toFixed(3)}x target 1's deduct SQL (${fmt(f.sql.perSecond)}/s)`,
  });
  bench.target({
    number: 2,
    name: 'api-deduct-p99',
    value: f.api.p99 / f.sql.p99,
    comparison: '<=',
    goal: API_P99_OVER_SQL_P99_GOAL,
    digits: 2,
    meaning: `API p99 ${fmt(f.api.p99, 2)} ms over the deduct SQL's p99 ${fmt(f.sql.p99, 2)} ms at ${DEDUCT_CLIENTS} clients`,
  });
  write('\n');
  bench.summary(
    `deducts/s        api ${fmt(f.api.perSecond)} (p50 ${fmt(f.api.p50, 2)} / p99 ${fmt(f.api.p99, 2)} ms)  SQL via pg ${fmt(f.sql.perSecond)}  ` +
      `bare UPDATE ${fmt(f.baseline.perSecond)}  ratio api/UPDATE ${apiOverBaseline.toFixed(3)}, SQL/UPDATE ${sqlOverBaseline.toFixed(3)}, api/SQL ${apiOverSql.toFixed(3)}`,
  );
}

export const scenario: Scenario = {
  name: 'deduct',
  order: 10,
  description: 'direct deducts: bare conditional UPDATE and the deduct\'s SQL via pg vs POST /v1/internal/credits/deduct (targets 1, 2)',
  run,
};
