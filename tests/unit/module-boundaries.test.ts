/**
 * The module map of docs/architecture.md, enforced: each folder imports only what its line says.
 * A feature that needs something outside its allowance is missing an extension point.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** Feature folders: services and storage of one business capability each. */
const FEATURES = ['credits', 'catalog', 'reports', 'reservations', 'orders', 'payments', 'subscriptions', 'events', 'lifecycle', 'pricing', 'coupons', 'sellers', 'reconciliation'];
const SHARED = ['domain', 'idempotency', 'infra', 'generated'];

/** Folder -> project folders (or folder/file prefixes) it may import from, besides itself. */
const ALLOWED: Record<string, string[]> = {
  domain: ['generated/prisma/enums'],
  idempotency: ['domain', 'infra', 'generated'],
  // The engine and the catalog write their events in the same transaction as the change.
  credits: [...SHARED, 'events/record', 'events/balance-low'],
  catalog: [...SHARED, 'events/record'],
  events: [...SHARED, 'workflows/delivery-contract', 'workflows/notification-contract', 'workflows/search-attributes'],
  reports: [...SHARED, 'credits/views'],
  reservations: [...SHARED, 'credits', 'workflows'],
  // Orders build on the credit engine and the catalog, and start their workflows through the contracts.
  orders: [...SHARED, 'credits', 'catalog', 'payments', 'subscriptions', 'workflows', 'pricing', 'coupons', 'sellers', 'events/record'],
  // Commerce: prices by currency, coupons, sellers' earnings; reconciliation asks the gateways and re-drives orders.
  pricing: SHARED,
  coupons: SHARED,
  sellers: SHARED,
  reconciliation: [...SHARED, 'payments', 'orders', 'workflows'],
  payments: [...SHARED, 'catalog', 'orders/views', 'workflows'],
  subscriptions: [...SHARED, 'credits', 'catalog', 'orders', 'events/record'],
  // Timers and jobs over the credit engine and subscriptions; starts its workflows through the contracts.
  lifecycle: [...SHARED, 'credits', 'workflows', 'events/record'],
  activities: [...SHARED, ...FEATURES, 'workflows'],
  // Workflow code: pure rules, and types (views, activity signatures) that the bundle erases.
  workflows: ['domain', 'activities', 'generated/prisma/enums', ...FEATURES.map((feature) => `${feature}/views`)],
  // Config is composed from each feature's own config shape.
  infra: ['domain/errors', 'generated', ...FEATURES.map((feature) => `${feature}/config`)],
  api: [...SHARED, ...FEATURES],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return full.endsWith('.ts') ? [full] : [];
  });
}

function projectImports(file: string): Array<{ target: string; typeOnly: boolean }> {
  const text = readFileSync(file, 'utf8');
  const found: Array<{ target: string; typeOnly: boolean }> = [];
  for (const m of text.matchAll(/^(?:import|export)(\s+type)?[^'"]*?from\s+'(\.[^']+)'/gm)) {
    const resolved = path.relative(ROOT, path.resolve(path.dirname(file), m[2]!));
    found.push({ target: resolved, typeOnly: Boolean(m[1]) });
  }
  return found;
}

describe('module boundaries (docs/architecture.md, module map)', () => {
  for (const [folder, allowed] of Object.entries(ALLOWED)) {
    it(`${folder}/ imports only ${allowed.join(', ')}`, () => {
      const violations = sourceFiles(path.join(ROOT, folder)).flatMap((file) =>
        projectImports(file)
          .filter(({ target }) => !target.startsWith(`${folder}/`) && !allowed.some((prefix) => target === prefix || target.startsWith(`${prefix}/`)))
          .map(({ target }) => `${path.relative(ROOT, file)} -> ${target}`),
      );
      expect(violations).toEqual([]);
    });
  }

  it('workflow code imports only workflow-safe modules at run time (others type-only)', () => {
    const runtimeSafe = ['domain', 'generated/prisma/enums'];
    const violations = sourceFiles(path.join(ROOT, 'workflows')).flatMap((file) =>
      projectImports(file)
        .filter(({ target, typeOnly }) => !typeOnly && !target.startsWith('workflows/') && !runtimeSafe.some((p) => target === p || target.startsWith(`${p}/`)))
        .map(({ target }) => `${path.relative(ROOT, file)} -> ${target}`),
    );
    expect(violations).toEqual([]);
  });
});
