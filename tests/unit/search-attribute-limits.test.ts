/**
 * The one list of search attributes fits what SQL visibility can index (the dev server's SQLite and
 * docker-compose's PostgreSQL): per namespace at most 10 custom Keyword attributes and 3 of each other
 * type. Over the limit the dev server refuses to start, so a feature that adds one must choose.
 */
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes';

const SQL_VISIBILITY_LIMITS: Record<string, number> = { KEYWORD: 10, KEYWORD_LIST: 3, TEXT: 3, INT: 3, DOUBLE: 3, BOOL: 3, DATETIME: 3 };

describe('search attributes', () => {
  it('fit the per-type limits of SQL visibility', () => {
    const perType = new Map<string, number>();
    for (const key of SEARCH_ATTRIBUTE_KEYS) perType.set(key.type, (perType.get(key.type) ?? 0) + 1);
    for (const [type, count] of perType) expect({ type, count: Math.min(count, SQL_VISIBILITY_LIMITS[type]!) }).toEqual({ type, count });
  });

  it('have unique names', () => {
    const names = SEARCH_ATTRIBUTE_KEYS.map((key) => key.name);
    expect(new Set(names).size).toBe(names.length);
  });
});
