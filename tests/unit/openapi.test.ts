import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildOpenApiDocument } from '../../api/openapi';
import { routes } from '../../api/routes';

describe('docs/openapi.json', () => {
  it('is the document generated from the current route table (run `npm run openapi` after changing routes)', () => {
    const committed = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'docs', 'openapi.json'), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument(routes))));
  });
});
