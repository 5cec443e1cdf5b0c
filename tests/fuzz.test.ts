/**
 * Schema fuzzing with Schemathesis (PyPI; installed by `npm run setup`): it reads the live OpenAPI
 * document and sends requests the document allows (and some it forbids) with each credential kind,
 * checking that no answer is a 5xx (`not_a_server_error`) and that every answer matches the document
 * (`response_schema_conformance`, which also covers status codes and content types).
 *
 * The fuzzer gets a stack of its own: its own API server and worker (own task queue) over its own
 * database (created, migrated and seeded here), so nothing it writes meets other tests' data.
 *
 * Bounded: FUZZ_MAX_EXAMPLES examples per operation (default 10) and FUZZ_MAX_SECONDS per credential
 * kind (default 40), with a fixed seed (FUZZ_SEED, default 6) so CI is reproducible. A longer run on
 * demand: `FUZZ_MAX_EXAMPLES=200 FUZZ_MAX_SECONDS=600 FUZZ_SEED=$RANDOM npx jest tests/fuzz.test.ts`.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { resolveTool } from '../scripts/services';
import { ADMIN_KEY, SERVICE_KEY, grantCredits, startStack, userToken, type TestStack } from './support/stack';
import { createOwnDatabase } from './support/own-database';

const MAX_EXAMPLES = Number(process.env.FUZZ_MAX_EXAMPLES ?? 10);
const MAX_SECONDS = Number(process.env.FUZZ_MAX_SECONDS ?? 40);
const SEED = Number(process.env.FUZZ_SEED ?? 6);

let stack: TestStack;
let schemathesis: string;
const fuzzUser = `fuzz-user-${randomUUID()}`;

beforeAll(async () => {
  schemathesis = (await resolveTool('schemathesis', { install: false })).path;
  stack = await startStack({ databaseUrl: await createOwnDatabase('fuzz') });
  await grantCredits(stack.db, fuzzUser, 1_000);
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

function runSchemathesis(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Run in a temp dir: Schemathesis keeps a crash cache (.schemathesis/) in its working directory.
    const child = spawn(schemathesis, args, { cwd: tmpdir(), env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false' } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const credentialKinds: Array<[string, string, () => Promise<string | null>]> = [
  ['service key', '^/v1/internal/', async () => SERVICE_KEY],
  ['admin key', '^/v1/(admin|internal/reservations/[^/]+$)', async () => ADMIN_KEY],
  ['user JWT', '^/v1/me/', () => userToken(fuzzUser)],
  ['no credential', '^/(v1/(action-prices|packages)|healthz|readyz)', async () => null],
];

describe('schema fuzzing (Schemathesis)', () => {
  it.each(credentialKinds)(
    'finds no 5xx and no answer outside the document with a %s',
    async (_kind, pathRegex, credential) => {
      const bearer = await credential();
      const result = await runSchemathesis([
        'run',
        `${stack.baseUrl}/openapi.json`,
        '--checks',
        'not_a_server_error,response_schema_conformance',
        '--phases',
        'examples,coverage,fuzzing',
        '--include-path-regex',
        pathRegex,
        '--max-examples',
        String(MAX_EXAMPLES),
        '--max-time',
        String(MAX_SECONDS),
        '--seed',
        String(SEED),
        '--workers',
        '1',
        '--request-timeout',
        '15',
        '--suppress-health-check',
        'all',
        ...(bearer ? ['--header', `Authorization: Bearer ${bearer}`] : []),
      ]);
      if (process.env.FUZZ_LOG) require('node:fs').appendFileSync(process.env.FUZZ_LOG, result.output);
      if (result.code !== 0) throw new Error(`schemathesis exited ${result.code}:\n${result.output.slice(-12_000)}`);
      // A run that matched no operation would pass vacuously.
      expect(result.output).toMatch(/[1-9]\d* (?:passed|operations? tested)|Test cases:\s+[1-9]/i);
    },
    (MAX_SECONDS + 60) * 1000,
  );
});
