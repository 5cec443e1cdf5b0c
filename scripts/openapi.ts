/**
 * Writes docs/openapi.json from the route table and its zod schemas (`npm run openapi`), the same
 * document the API serves at /openapi.json. tests/operations.test.ts checks the served one.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildOpenApiDocument } from '../api/openapi';
import { routes } from '../api/routes';

const target = path.join(__dirname, '..', 'docs', 'openapi.json');
writeFileSync(target, `${JSON.stringify(buildOpenApiDocument(routes), null, 2)}\n`);
process.stdout.write(`wrote ${path.relative(process.cwd(), target)} (${routes.length} operations)\n`);
