/**
 * Payment providers are a registry (modules/payments/providers/): the channel kinds come from the Prisma
 * enum alone, each has a provider, and no code outside a provider's own file branches on a channel's
 * kind, so adding a provider is adding its file and one line in the registry (docs/architecture.md,
 * "Add a payment provider").
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PaymentChannelKind } from '../../generated/prisma/enums';
import { CHANNEL_KINDS, RECONCILABLE_KINDS } from '../../modules/payments';
import { paymentProvider } from '../../modules/payments/providers/registry';

const ROOT = path.join(__dirname, '..', '..');
const PRODUCTION = ['api', 'activities', 'modules', 'worker', 'workflows'];
const PROVIDERS_DIR = path.join('modules', 'payments', 'providers');
const KINDS = Object.values(PaymentChannelKind);
const quotedKind = `'(?:${KINDS.join('|')})'`;
/** A branch on a kind: a comparison or a `case` with a kind's literal, or a list of kinds written out. */
const BRANCH_ON_KIND = new RegExp(`\\bkind\\s*[!=]==?\\s*${quotedKind}|\\bcase\\s+${quotedKind}|\\bin:\\s*\\[\\s*${quotedKind}`);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : full.endsWith('.ts') ? [full] : [];
  });
}

describe('payment providers', () => {
  it('the channel kinds are the enum, each with a provider', () => {
    expect([...CHANNEL_KINDS].sort()).toEqual([...KINDS].sort());
    for (const kind of CHANNEL_KINDS) expect(paymentProvider(kind)).toBeDefined();
    expect([...RECONCILABLE_KINDS].sort()).toEqual(KINDS.filter((kind) => paymentProvider(kind).listPayments !== null).sort());
  });

  it('no production code outside the providers branches on a channel kind', () => {
    const offenders = PRODUCTION.flatMap((dir) => sourceFiles(path.join(ROOT, dir)))
      .filter((file) => !path.relative(ROOT, file).startsWith(PROVIDERS_DIR))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .map((line, index) => ({ line, index }))
          .filter(({ line }) => BRANCH_ON_KIND.test(line))
          .map(({ line, index }) => `${path.relative(ROOT, file)}:${index + 1}: ${line.trim()}`),
      );
    expect(offenders).toEqual([]);
  });

  it('recognises a branch on a kind when one is there', () => {
    expect(BRANCH_ON_KIND.test("if (channel.kind === 'manual') return;")).toBe(true);
    expect(BRANCH_ON_KIND.test("    case 'stripe':")).toBe(true);
    expect(BRANCH_ON_KIND.test("where: { kind: { in: ['stripe', 'gateway'] } }")).toBe(true);
    expect(BRANCH_ON_KIND.test("if (coupon.kind === 'percent') return;")).toBe(false);
    expect(BRANCH_ON_KIND.test('return paymentProvider(channel.kind).refund(deps, channel, payment, amount, key);')).toBe(false);
  });
});
