/**
 * The SDK's generated types (clients/typescript/src/schema.d.ts) are what `npm run sdk:generate`
 * writes from docs/openapi.json today: the script is run into a temporary file and compared, so a
 * route changed without regenerating the SDK fails here.
 */
import { execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
const committed = 'clients/typescript/src/schema.d.ts';

it('clients/typescript/src/schema.d.ts is what npm run sdk:generate makes of docs/openapi.json', () => {
  const script: string = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts['sdk:generate'];
  expect(script.endsWith(`-o ${committed}`)).toBe(true);
  const dir = mkdtempSync(path.join(tmpdir(), 'sdk-drift-'));
  try {
    const fresh = path.join(dir, 'schema.d.ts');
    execSync(`npx --no-install ${script.slice(0, -committed.length)}${JSON.stringify(fresh)}`, { cwd: root, stdio: 'pipe' });
    const drifted = readFileSync(fresh, 'utf8') !== readFileSync(path.join(root, committed), 'utf8');
    if (drifted) throw new Error(`${committed} is out of date with docs/openapi.json: run \`npm run sdk:generate\` and commit the result.`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
