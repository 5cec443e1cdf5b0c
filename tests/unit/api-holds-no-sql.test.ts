/**
 * api/ holds no SQL: handlers call module services, which own their tables (docs/architecture.md, module map).
 * dependency-cruiser keeps api/ from importing the database client at run time; this catches the queries
 * a handler could still send through the `db` it is handed.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const API = path.join(__dirname, '..', '..', 'api');
const SQL = /\$(queryRaw|executeRaw|queryRawUnsafe|executeRawUnsafe)\b|\bsqlPool\(|\.\$transaction\(|\bdb\.[a-z]\w*\.(find\w*|create\w*|update\w*|upsert|delete\w*|count|aggregate|groupBy)\(/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : full.endsWith('.ts') ? [full] : [];
  });
}

describe('api/ holds no SQL', () => {
  it('no file in api/ queries the database itself', () => {
    const offenders = sourceFiles(API).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, index) => ({ line, index }))
        .filter(({ line }) => SQL.test(line))
        .map(({ line, index }) => `${path.relative(API, file)}:${index + 1}: ${line.trim()}`),
    );
    expect(offenders).toEqual([]);
  });

  it('recognises a query when one is there', () => {
    expect(SQL.test('await deps.db.$queryRaw`SELECT 1`')).toBe(true);
    expect(SQL.test('await deps.db.userPackage.findMany({})')).toBe(true);
    expect(SQL.test('await listGrants(deps.db, userId)')).toBe(false);
  });
});
