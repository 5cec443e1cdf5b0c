/**
 * The module map of docs/architecture.md, enforced: each folder imports only what its line says.
 * A feature that needs something outside its allowance is missing an extension point.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** Folder -> project folders (or folder/file prefixes) it may import from, besides itself. */
const ALLOWED: Record<string, string[]> = {
  domain: ['generated/prisma/enums'],
  idempotency: ['domain', 'infra', 'generated'],
  credits: ['domain', 'idempotency', 'infra', 'generated', 'events/record', 'events/balance-low'],
  catalog: ['domain', 'idempotency', 'infra', 'generated', 'events/record'],
  events: ['domain', 'idempotency', 'infra', 'generated', 'workflows/delivery-contract', 'workflows/notification-contract', 'workflows/search-attributes'],
  reports: ['domain', 'credits/views', 'infra', 'generated'],
  reservations: ['domain', 'idempotency', 'infra', 'credits', 'workflows'],
  activities: ['domain', 'idempotency', 'infra', 'credits', 'catalog', 'reservations', 'events', 'workflows', 'generated'],
  workflows: ['domain', 'activities', 'credits/views', 'generated/prisma/enums'],
  infra: ['domain/errors', 'generated'],
  api: ['domain', 'idempotency', 'infra', 'credits', 'catalog', 'reports', 'reservations', 'events', 'generated/prisma/enums'],
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
