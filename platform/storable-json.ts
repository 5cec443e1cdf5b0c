/**
 * What PostgreSQL cannot store as received: NUL (U+0000) and unpaired UTF-16 surrogates are refused in
 * text and jsonb, and a value nested deeper than a bound costs unbounded work to store and to serialise.
 * Every body the service accepts (API routes, provider webhooks) is checked here first, so such input is
 * a caller's mistake (400), never a database error (500).
 */

const UNSTORABLE_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const UNSTORABLE_TEXT_MESSAGE = 'must not contain the NUL character (U+0000) or an unpaired surrogate';

export interface UnstorablePart {
  /** Keys and indexes from the checked value down to the offending part. */
  path: string[];
  message: string;
}

/**
 * The first part of `value` the database could not store: a text (key or value) with NUL or an unpaired
 * surrogate, or a container nested `maxDepth` levels deep. Iterative, so a deeply nested value cannot
 * exhaust the stack here.
 */
export function firstUnstorablePart(value: unknown, maxDepth: number): UnstorablePart | undefined {
  const pending: Array<{ value: unknown; path: string[] }> = [{ value, path: [] }];
  while (pending.length > 0) {
    const { value: current, path } = pending.pop()!;
    if (typeof current === 'string') {
      if (UNSTORABLE_TEXT.test(current)) return { path, message: UNSTORABLE_TEXT_MESSAGE };
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (path.length >= maxDepth) return { path, message: `must not be nested deeper than ${maxDepth} levels` };
    for (const [key, item] of Object.entries(current)) {
      if (UNSTORABLE_TEXT.test(key)) return { path: [...path, key], message: UNSTORABLE_TEXT_MESSAGE };
      pending.push({ value: item, path: [...path, key] });
    }
  }
  return undefined;
}
