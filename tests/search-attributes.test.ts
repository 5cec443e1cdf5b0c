/**
 * One list of search attributes (workflows/search-attributes.ts, with each attribute's type) feeds every
 * place that registers or checks them: the dev server's `--search-attribute Name=Type` flags (tests, `npm run
 * dev`, bench), the worker's registration at start, and docker-compose's worker healthcheck.
 */
import fs from 'node:fs';
import path from 'node:path';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { parse } from 'yaml';
import { devServerSearchAttributes, projectSearchAttributes } from '../scripts/services';
import { run } from '../scripts/services/commands';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';

const ROOT = path.join(__dirname, '..');
const { IndexedValueType } = temporal.api.enums.v1;
const indexedType = (type: string) => IndexedValueType[`INDEXED_VALUE_TYPE_${type}` as keyof typeof IndexedValueType];

describe('the dev server flags', () => {
  it('are made from the list, one per attribute, with its type', async () => {
    const flags = await projectSearchAttributes();
    expect(Object.keys(flags)).toEqual(SEARCH_ATTRIBUTE_KEYS.map((key) => key.name));
    expect(devServerSearchAttributes([defineSearchAttributeKey('ExpiresAt', SearchAttributeType.DATETIME)])).toEqual({ ExpiresAt: 'Datetime' });
    expect(
      devServerSearchAttributes([
        defineSearchAttributeKey('A', SearchAttributeType.KEYWORD),
        defineSearchAttributeKey('B', SearchAttributeType.INT),
        defineSearchAttributeKey('C', SearchAttributeType.KEYWORD_LIST),
      ]),
    ).toEqual({ A: 'Keyword', B: 'Int', C: 'KeywordList' });
  });

  it('registered every attribute with its type on the suite\'s dev server', async () => {
    const connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      for (const key of SEARCH_ATTRIBUTE_KEYS) expect({ [key.name]: customAttributes?.[key.name] }).toEqual({ [key.name]: indexedType(key.type) });
    } finally {
      await connection.close();
    }
  });
});

describe("docker-compose.yml's worker healthcheck", () => {
  const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'));
  const [cmd, node, flag, script] = compose.services.worker.healthcheck.test as [string, string, string, string];
  let imageDir: string;

  beforeAll(() => {
    fs.mkdirSync(path.join(ROOT, '.data'), { recursive: true });
    // Stands in for the image's /app: dist/workflows/search-attributes.js where the build puts it; node_modules
    // found from inside the checkout.
    imageDir = fs.mkdtempSync(path.join(ROOT, '.data', 'compose-healthcheck-'));
    fs.mkdirSync(path.join(imageDir, 'dist', 'workflows'), { recursive: true });
  });
  afterAll(() => fs.rmSync(imageDir, { recursive: true, force: true }));

  /** Runs the healthcheck's script as the image would, with `dist/workflows/search-attributes.js` saying `module`. */
  async function healthcheck(module: string): Promise<number | null> {
    fs.writeFileSync(path.join(imageDir, 'dist', 'workflows', 'search-attributes.js'), module);
    const result = await run(process.execPath, ['--import', 'tsx', flag, script], {
      cwd: imageDir,
      env: { ...process.env, TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE: 'default' },
      timeoutMs: 30_000,
    });
    return result.code;
  }

  it('reads the list from the build, naming no attribute itself', () => {
    expect([cmd, node, flag]).toEqual(['CMD', 'node', '-e']);
    expect(script).toContain("require('./dist/workflows/search-attributes')");
    // The build emits that file (tsconfig.build.json compiles workflows/ to dist/workflows/).
    expect(fs.existsSync(path.join(ROOT, 'workflows', 'search-attributes.ts'))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, ''))).toMatchObject({
      compilerOptions: { outDir: 'dist', rootDir: '.' },
      include: expect.arrayContaining(['workflows']),
    });
    for (const key of SEARCH_ATTRIBUTE_KEYS) expect(script).not.toContain(`'${key.name}'`);
  });

  it('passes when the namespace holds every attribute of the list with its type, and fails otherwise', async () => {
    const real = `module.exports = require(${JSON.stringify(path.join(ROOT, 'workflows', 'search-attributes.ts'))});`;
    expect(await healthcheck(real)).toBe(0);
    const withExtra = `const real = require(${JSON.stringify(path.join(ROOT, 'workflows', 'search-attributes.ts'))});
      module.exports = { SEARCH_ATTRIBUTE_KEYS: [...real.SEARCH_ATTRIBUTE_KEYS, { name: 'NotRegisteredAnywhere', type: 'KEYWORD' }] };`;
    expect(await healthcheck(withExtra)).toBe(1);
    const wrongType = `module.exports = { SEARCH_ATTRIBUTE_KEYS: [{ name: ${JSON.stringify(SEARCH_ATTRIBUTE_KEYS[0]!.name)}, type: 'INT' }] };`;
    expect(await healthcheck(wrongType)).toBe(1);
  });
});
