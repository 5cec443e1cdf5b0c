/**
 * Counts the SQL statements PostgreSQL executes for one operation, from its statement log, split by
 * application_name (the API and the worker connect as `bench-api` and `bench-worker`).
 */
import fs from 'node:fs';
import type { Client as PgClient } from 'pg';

export interface StatementCount {
  total: number;
  byApplication: Record<string, number>;
  byVerb: Record<string, number>;
  statements: string[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `action` with log_statement = all and counts what the API's and the worker's connections sent.
 * One call is enough: the statements per operation are deterministic.
 */
export async function countStatements(admin: PgClient, logFile: string, action: () => Promise<unknown>): Promise<StatementCount> {
  await admin.query(`ALTER SYSTEM SET log_statement = 'all'`);
  await admin.query(`ALTER SYSTEM SET log_line_prefix = '%m [%p] app=%a '`);
  await admin.query('SELECT pg_reload_conf()');
  await sleep(400); // every backend reloads its configuration before its next command
  const offset = fs.statSync(logFile).size;
  try {
    await action();
    await sleep(400);
  } finally {
    await admin.query('ALTER SYSTEM RESET log_statement');
    await admin.query('ALTER SYSTEM RESET log_line_prefix');
    await admin.query('SELECT pg_reload_conf()');
  }
  const fd = fs.openSync(logFile, 'r');
  let text: string;
  try {
    const size = fs.fstatSync(fd).size;
    const buffer = Buffer.alloc(size - offset);
    fs.readSync(fd, buffer, 0, buffer.length, offset);
    text = buffer.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
  const result: StatementCount = { total: 0, byApplication: {}, byVerb: {}, statements: [] };
  const lines = text.split('\n');
  const isPrefixed = (line: string) => /^\d{4}-\d\d-\d\d \S+ \S+ \[\d+\] /.test(line);
  lines.forEach((line, index) => {
    const match = /app=(\S*) LOG:\s+(?:statement|execute [^:]*):\s*(.*)$/.exec(line);
    if (!match) return;
    const [, app = '', first = ''] = match;
    // Only the API's and the worker's connections (not this bench's own ALTER SYSTEM etc.).
    if (!app.startsWith('bench-') || app === 'bench-admin') return;
    const application = app.replace(/^bench-/, '');
    // A statement may continue on the following (unprefixed) lines.
    let sql = first;
    for (let next = index + 1; next < lines.length && !isPrefixed(lines[next]!); next++) sql += ` ${lines[next]}`;
    result.total++;
    result.byApplication[application] = (result.byApplication[application] ?? 0) + 1;
    const verb = /pg_advisory_xact_lock/.test(sql) ? 'LOCK' : (sql.trim().split(/\s+/)[0] || '?').toUpperCase();
    result.byVerb[verb] = (result.byVerb[verb] ?? 0) + 1;
    result.statements.push(`${application}: ${sql.replace(/\s+/g, ' ').trim().slice(0, 110)}`);
  });
  return result;
}

/** `total` minus `part` (e.g. a commit's count that includes the reserve it needed). */
export function subtractCounts(total: StatementCount, part: StatementCount): StatementCount {
  const minus = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(Object.entries(a).map(([key, n]) => [key, n - (b[key] ?? 0)]).filter(([, n]) => (n as number) > 0));
  return {
    total: total.total - part.total,
    byApplication: minus(total.byApplication, part.byApplication),
    byVerb: minus(total.byVerb, part.byVerb),
    statements: total.statements.slice(part.statements.length),
  };
}

export function describeStatements(count: StatementCount): string {
  const apps = Object.entries(count.byApplication).map(([app, n]) => `${app} ${n}`).join(', ');
  const verbs = Object.entries(count.byVerb).map(([verb, n]) => `${verb} ${n}`).join(', ');
  return `${count.total} (${apps}; ${verbs})`;
}
