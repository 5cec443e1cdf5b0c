import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_STATUS } from '../../platform/errors';

describe('docs/api.md', () => {
  const doc = readFileSync(path.join(__dirname, '..', '..', 'docs', 'api.md'), 'utf8');

  it('documents every error code with its HTTP status', () => {
    const rows = new Map([...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]));
    expect(Object.fromEntries(rows)).toEqual(ERROR_STATUS);
  });
});
