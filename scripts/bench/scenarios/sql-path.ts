/**
 * The deduct's SQL function alone, inside the server (issue 13, target 1's subject without the client,
 * the protocol and the commit): a PL/pgSQL loop calls `deduct_credits` N times in one transaction and
 * the time per call is compared with the same loop around the bare conditional UPDATE, and with the
 * function as its first migration wrote it (20261215000000_deduct_function, recreated as a temporary
 * function in the same transaction), so a change to the function shows its effect in one run.
 * Every loop runs in a transaction that is rolled back: the database is left as it was.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client as PgClient } from 'pg';
import type { Bench } from '../context';
import { fmt, log, printTable, write } from '../report';
import type { Scenario } from '../scenario';
import { ROOT } from '../settings';
import { ACTION_KEY } from '../stack';

const CALLS_PER_LOOP = 2_000;
const LOOPS = 3;
const FIRST_DEDUCT_MIGRATION = path.join(ROOT, 'prisma', 'migrations', '20261215000000_deduct_function', 'migration.sql');

/** The function of the first deduct migration, as pg_temp.deduct_credits_first (same body, temporary). */
function firstDeductFunction(): string {
  const sql = fs.readFileSync(FIRST_DEDUCT_MIGRATION, 'utf8');
  const body = sql.slice(sql.indexOf('CREATE FUNCTION deduct_credits('));
  return body.replace('CREATE FUNCTION deduct_credits(', 'CREATE FUNCTION pg_temp.deduct_credits_first(');
}

const deductLoop = (fn: string) => `DO $$ BEGIN FOR i IN 1..${CALLS_PER_LOOP} LOOP
  PERFORM ${fn}('service:bench-sql-path', gen_random_uuid()::text, 'hash', 'service:bench-sql-path',
    'bench-user-' || lpad((1 + floor(random() * 1000))::int::text, 6, '0'), '${ACTION_KEY}', 1, NULL, gen_random_uuid(), now(), 100);
END LOOP; END $$`;

// The grant is picked into a variable first: random() in the WHERE clause would make it a filter, not an index key.
const updateLoop = (grantIds: string[]) => `DO $$ DECLARE ids uuid[] := ARRAY[${grantIds.map((id) => `'${id}'`).join(',')}]::uuid[]; grant_id uuid; BEGIN
  FOR i IN 1..${CALLS_PER_LOOP} LOOP
    grant_id := ids[1 + floor(random() * array_length(ids, 1))::int];
    UPDATE user_packages SET used_credits = used_credits + 1
    WHERE id = grant_id AND total_credits - used_credits - reserved_credits >= 1;
  END LOOP; END $$`;

/** µs per call of one loop, in a transaction rolled back afterwards. */
async function timeLoop(client: PgClient, setup: string | undefined, loop: string): Promise<number> {
  await client.query('BEGIN');
  try {
    if (setup) await client.query(setup);
    const started = process.hrtime.bigint();
    await client.query(loop);
    return Number(process.hrtime.bigint() - started) / 1_000 / CALLS_PER_LOOP;
  } finally {
    await client.query('ROLLBACK');
  }
}

async function run(bench: Bench): Promise<void> {
  const { stack } = bench;
  const client = stack.admin;
  const grantIds = stack.users.grantIds.slice(0, 1000);
  const first = firstDeductFunction();
  const sides = {
    'bare conditional UPDATE': { setup: undefined, loop: updateLoop(grantIds) },
    'deduct_credits (as migrated now)': { setup: undefined, loop: deductLoop('deduct_credits') },
    'deduct_credits as first written (20261215000000)': { setup: first, loop: deductLoop('pg_temp.deduct_credits_first') },
  };
  log(`sql-path: ${LOOPS} × ${CALLS_PER_LOOP} calls per side in a server-side loop, rolled back`);
  const times = new Map<string, number[]>(Object.keys(sides).map((name) => [name, []]));
  // Warm-up (plans, caches), then the sides alternated so drift spreads evenly.
  for (const side of Object.values(sides)) await timeLoop(client, side.setup, side.loop);
  for (let loop = 0; loop < LOOPS; loop++) {
    for (const [name, side] of Object.entries(sides)) times.get(name)!.push(await timeLoop(client, side.setup, side.loop));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const bare = median(times.get('bare conditional UPDATE')!);
  write(`\nThe deduct's SQL inside the server — µs per call (median of ${LOOPS} loops of ${CALLS_PER_LOOP}; no client, protocol or commit)\n`);
  printTable(
    ['', 'µs per call', 'loops', 'x the bare UPDATE'],
    [...times].map(([name, values]) => [name, fmt(median(values), 1), values.map((value) => value.toFixed(1)).join(' / '), (median(values) / bare).toFixed(2)]),
  );
  const now = median(times.get('deduct_credits (as migrated now)')!);
  const before = median(times.get('deduct_credits as first written (20261215000000)')!);
  bench.summary(`deduct function  ${fmt(now, 1)} µs per call in the server (first version ${fmt(before, 1)}; bare UPDATE ${fmt(bare, 1)})`);
  write('\n');
}

export const scenario: Scenario = {
  name: 'sql-path',
  order: 15,
  description: "the deduct function alone in a server-side loop vs the bare UPDATE and the function's first version (target 1's subject, diagnostic)",
  run,
};
