/**
 * What operators and platforms rely on: liveness and readiness probes (also with a dependency down),
 * the OpenAPI document and the docs page, configuration validation (in-process and through the real
 * entry point), and the database client's handling of instants.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import type { Client as TemporalClient } from '@temporalio/client';
import type { Express } from 'express';
import { Client as PgClient } from 'pg';
import { createApp } from '../api/app';
import type { RouteDefinition } from '../api/route';
import { routes } from '../api/routes';
import { ConfigError, loadConfig } from '../modules/config';
import { createDatabase } from '../platform/database';
import { createLogger } from '../platform/logger';
import { startStack, type TestStack } from './support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ withWorker: false });
});
afterAll(async () => {
  await stack?.close();
});

const ROOT = path.join(__dirname, '..');

/** Serves an app on a free port for one test. */
async function serve(app: Express): Promise<{ baseUrl: string; close: () => Promise<void> }> {
  const server = await new Promise<ReturnType<Express['listen']>>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

// -------------------------------------------------------------------------------------------------

describe('health probes', () => {
  it('GET /healthz answers 200 {status: ok} without a credential', async () => {
    const response = await stack.call('GET', '/healthz', { as: 'anonymous' });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 when PostgreSQL and Temporal both answer (degraded: no worker polls this file\'s queue)', async () => {
    const response = await stack.call('GET', '/readyz', { as: 'anonymous' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'degraded', checks: { database: 'ok', temporal: 'ok', worker: 'no_pollers' } });
  });

  it('GET /readyz answers 503 naming the database when it is unreachable, while /healthz stays 200', async () => {
    const unreachableDb = createDatabase('postgresql://postgres@127.0.0.1:1/x', 1);
    const server = await serve(createApp({ ...stack.deps, db: unreachableDb }, createLogger('test', 'silent')));
    try {
      expect(await getJson(`${server.baseUrl}/readyz`)).toEqual({
        status: 503,
        body: expect.objectContaining({ status: 'not_ready', checks: { database: 'unavailable', temporal: 'ok', worker: 'no_pollers' } }),
      });
      expect(await getJson(`${server.baseUrl}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    } finally {
      await server.close();
      await unreachableDb.$disconnect();
    }
  });

  it('GET /readyz answers 503 when the database accepts connections and never answers: the probe is bounded', async () => {
    // Without the probe's own bound the answer would wait for this client's connect timeout, set far
    // beyond the test's: the test then fails by timing out, whatever the machine's speed.
    const connections = new Set<net.Socket>();
    const silent = net.createServer((socket) => void connections.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentDb = createDatabase(`postgresql://postgres@127.0.0.1:${(silent.address() as AddressInfo).port}/x`, 1, 120_000);
    const server = await serve(createApp({ ...stack.deps, db: silentDb }, createLogger('test', 'silent')));
    try {
      expect(await getJson(`${server.baseUrl}/readyz`)).toEqual({
        status: 503,
        body: expect.objectContaining({ status: 'not_ready', checks: expect.objectContaining({ database: 'unavailable' }) }),
      });
      expect(connections.size).toBe(1); // it did reach the silent server
    } finally {
      await server.close();
      for (const socket of connections) socket.destroy();
      await silentDb.$disconnect().catch(() => undefined);
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('GET /readyz answers 503 naming Temporal when it does not answer', async () => {
    // A client whose every call fails as an unreachable frontend's would (a real connection to a closed
    // port keeps retrying in the background and outlives the test).
    const unreachable = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
    const temporal = { workflowService: { getSystemInfo: () => Promise.reject(unreachable) } } as unknown as TemporalClient;
    const server = await serve(createApp({ ...stack.deps, temporal }, createLogger('test', 'silent')));
    try {
      expect(await getJson(`${server.baseUrl}/readyz`)).toEqual({
        status: 503,
        body: expect.objectContaining({ status: 'not_ready', checks: { database: 'ok', temporal: 'unavailable', worker: 'unknown' } }),
      });
    } finally {
      await server.close();
    }
  });
});

// -------------------------------------------------------------------------------------------------

describe('API documentation', () => {
  const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
  const SCHEME_OF_ROLE = { service: 'serviceKey', admin: 'adminKey', user: 'userToken' } as const;
  const openApiPath = (route: RouteDefinition) => route.path.replace(/:(\w+)/g, '{$1}');

  let doc: any;
  beforeAll(async () => {
    const response = await stack.call('GET', '/openapi.json', { as: 'anonymous' });
    expect(response.status).toBe(200);
    doc = response.body;
  });

  function operationOf(route: RouteDefinition) {
    return doc.paths[openApiPath(route)]?.[route.method];
  }

  it('is an OpenAPI 3.1.0 document', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
  });

  it('documents exactly the routes of the route table, each with its method', () => {
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([documentedPath, item]) => Object.keys(item).filter((key) => HTTP_METHODS.includes(key)).map((method) => `${method.toUpperCase()} ${documentedPath}`))
      .sort();
    const table = routes.map((route) => `${route.method.toUpperCase()} ${openApiPath(route)}`).sort();
    expect(documented).toEqual(table);
    expect(table.length).toBeGreaterThanOrEqual(25);
  });

  it.each(routes.map((route) => [`${route.method.toUpperCase()} ${route.path}`, route] as const))(
    '%s: security, path parameters and Idempotency-Key are documented',
    (_name, route) => {
      const operation = operationOf(route);
      if (route.access === 'public') {
        expect(operation.security ?? []).toEqual([]);
      } else {
        expect(route.access.length).toBeGreaterThan(0);
        expect(operation.security).toEqual(route.access.map((role) => ({ [SCHEME_OF_ROLE[role]]: [] })));
        for (const requirement of operation.security) {
          for (const scheme of Object.keys(requirement)) expect(doc.components.securitySchemes[scheme]).toMatchObject({ type: 'http', scheme: 'bearer' });
        }
      }

      const parameters: Array<{ in: string; name: string; required?: boolean }> = operation.parameters ?? [];
      const pathNames = [...route.path.matchAll(/:(\w+)/g)].map((match) => match[1]);
      expect(parameters.filter((p) => p.in === 'path').map((p) => [p.name, p.required])).toEqual(pathNames.map((name) => [name, true]));
      const idempotencyHeader = parameters.find((p) => p.in === 'header' && p.name === 'Idempotency-Key');
      if (route.idempotent) expect(idempotencyHeader).toMatchObject({ required: true });
      else expect(idempotencyHeader).toBeUndefined();

      expect(Object.keys(operation.responses)).toContain(String(route.successStatus ?? 200));
    },
  );

  it('serves a docs page whose assets load and which points Swagger UI at /openapi.json', async () => {
    const page = await fetch(`${stack.baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(assets).toEqual(expect.arrayContaining(['/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css']));

    const bodies: string[] = [];
    for (const asset of assets) {
      const response = await fetch(`${stack.baseUrl}${asset}`);
      expect([asset, response.status]).toEqual([asset, 200]);
      expect(response.headers.get('content-type')).toMatch(asset.endsWith('.css') ? /^text\/css/ : /javascript/);
      bodies.push(await response.text());
    }
    expect(bodies.find((body) => body.includes('SwaggerUIBundle('))).toMatch(/url: ?'\/openapi\.json'/);
    expect(bodies[assets.indexOf('/docs/assets/swagger-ui-bundle.js')]!.length).toBeGreaterThan(100_000);
  });
});

// -------------------------------------------------------------------------------------------------

describe('configuration', () => {
  const VALID_ENV: NodeJS.ProcessEnv = {
    DATABASE_URL: 'postgresql://billing@db.internal:5432/billing',
    SERVICE_API_KEYS: 'service-key-0123456789abcdef, service-key-2-0123456789abcdef',
    ADMIN_API_KEYS: 'admin-key-0123456789abcdef',
    USER_TOKEN_SECRET: 'user-token-secret-0123456789abcdef-0123',
  };

  /** The ConfigError message for `env`, or a failure when it loads. */
  function configErrorFor(env: NodeJS.ProcessEnv): string {
    try {
      loadConfig(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
  }

  it('loads a valid environment and fills in the defaults', () => {
    expect(loadConfig(VALID_ENV)).toMatchObject({
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: 3000,
      DATABASE_URL: VALID_ENV.DATABASE_URL,
      DATABASE_POOL_SIZE: 20,
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_TASK_QUEUE: 'billing',
      SERVICE_API_KEYS: ['service-key-0123456789abcdef', 'service-key-2-0123456789abcdef'],
      ADMIN_API_KEYS: ['admin-key-0123456789abcdef'],
      RESERVATION_DEFAULT_HOLD_SECONDS: 900,
      RESERVATION_MAX_HOLD_SECONDS: 86_400,
      REFUND_WINDOW_DAYS: 30,
    });
    expect(loadConfig({ ...VALID_ENV, PORT: '8080', DATABASE_URL: 'postgres://u:p@h/db' })).toMatchObject({ PORT: 8080 });
  });

  it.each([
    ['DATABASE_URL', 'missing', { DATABASE_URL: undefined }],
    ['DATABASE_URL', 'not a URL', { DATABASE_URL: 'nope' }],
    ['DATABASE_URL', 'another database', { DATABASE_URL: 'mysql://billing@db.internal/billing' }],
    ['SERVICE_API_KEYS', 'with a short key', { SERVICE_API_KEYS: 'service-key-0123456789abcdef,short' }],
    ['SERVICE_API_KEYS', 'an empty list', { SERVICE_API_KEYS: ' , ' }],
    ['ADMIN_API_KEYS', 'missing', { ADMIN_API_KEYS: undefined }],
    ['USER_TOKEN_SECRET', 'too short', { USER_TOKEN_SECRET: 'short-secret' }],
    ['PORT', 'not a number', { PORT: 'abc' }],
    ['PORT', 'out of range', { PORT: '70000' }],
    ['LOG_LEVEL', 'unknown', { LOG_LEVEL: 'verbose' }],
    ['RESERVATION_DEFAULT_HOLD_SECONDS', 'above the maximum', { RESERVATION_DEFAULT_HOLD_SECONDS: '100', RESERVATION_MAX_HOLD_SECONDS: '50' }],
  ] as const)('refuses %s %s with a ConfigError naming it', (variable, _what, overrides) => {
    const message = configErrorFor({ ...VALID_ENV, ...overrides });
    // One line, naming the variable (a list entry of it, e.g. SERVICE_API_KEYS.1, names it too).
    expect(message).toMatch(new RegExp(`^Invalid configuration:\\n  ${variable}(\\.\\d+)?: \\S[^\\n]*$`));
  });

  // An empty value (PORT= in a compose file or systemd unit) must not silently become 0: PORT 0 means
  // "any free port", REFUND_WINDOW_DAYS 0 disables refunds, SHUTDOWN_GRACE_MS 0 cuts requests at shutdown.
  it.each(['PORT', 'REFUND_WINDOW_DAYS', 'SHUTDOWN_GRACE_MS'])('refuses an empty %s instead of reading it as 0', (variable) => {
    expect(configErrorFor({ ...VALID_ENV, [variable]: '' })).toMatch(new RegExp(`^  ${variable}: `, 'm'));
  });

  it('stops the real entry point with exit code 78 and a readable message naming DATABASE_URL', () => {
    const result = spawnSync('npx', ['tsx', 'api/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, DATABASE_URL: 'nope' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(/^Invalid configuration:$/m);
    expect(result.stderr).toMatch(/^  DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL$/m);
    expect(result.stderr).toMatch(/^  SERVICE_API_KEYS: /m);
    expect(result.stderr).not.toMatch(/^\s+at /m); // no stack trace
    expect(result.stderr).not.toMatch(/ConfigError|ZodError/);
    expect(result.stdout).toBe('');
  });
});

// -------------------------------------------------------------------------------------------------

describe('database client', () => {
  /**
   * A PostgreSQL server (or database, or role) whose default TimeZone is not UTC is common: initdb
   * takes the host's zone. The app's client must still store and read the instants it is given.
   */
  it('stores and reads instants exactly when the server default time zone is not UTC', async () => {
    const role = `tz_probe_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    await stack.db.$executeRawUnsafe(`CREATE ROLE ${role} LOGIN SUPERUSER`);
    await stack.db.$executeRawUnsafe(`ALTER ROLE ${role} SET TimeZone = 'Pacific/Kiritimati'`);
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.username = role;

    // The scenario holds: a plain session of this role runs at UTC+14.
    const plain = new PgClient({ connectionString: url.toString() });
    await plain.connect();
    expect((await plain.query('SHOW TimeZone')).rows[0].TimeZone).toBe('Pacific/Kiritimati');
    await plain.end();

    const db = createDatabase(url.toString(), 1);
    const at = new Date('2024-06-01T09:30:00.250Z');
    const userId = `tz-probe-${randomUUID()}`;
    const record = (data: { createdAt: Date }) => ({ userId, actionKey: 'tz_probe', quantity: 1, unitPrice: 1, creditsCost: 1, ...data });
    try {
      const written = await db.consumptionRecord.create({ data: record({ createdAt: at }) });
      const [stored] = await stack.db.$queryRaw<Array<{ ms: bigint }>>`
        SELECT (extract(epoch FROM created_at) * 1000)::bigint AS ms FROM consumption_records WHERE id = ${written.id}::uuid`;
      expect(new Date(Number(stored!.ms)).toISOString()).toBe(at.toISOString());

      const writtenElsewhere = await stack.db.consumptionRecord.create({ data: record({ createdAt: at }) });
      const read = await db.consumptionRecord.findUniqueOrThrow({ where: { id: writtenElsewhere.id } });
      expect(read.createdAt.toISOString()).toBe(at.toISOString());
    } finally {
      await db.$disconnect();
      await stack.db.$executeRawUnsafe(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    }
  });
});
