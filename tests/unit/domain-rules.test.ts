/**
 * The pure business rules (each module's rules folder): each is a pure function, named here by its rule.
 * Property tests run from a fixed seed (FC_SEED overrides it), so a failure replays.
 */
import fc from 'fast-check';
import { BillingError } from '../../platform/errors';
import { grantExpiry, initialGrantStatus } from '../../modules/credits/rules/grants';
import { isReplayOf } from '../../platform/idempotency/key-reuse';
import { packageRuleViolations } from '../../modules/catalog/rules/packages';
import { canTakeRefundBack, refundAmount, replacementGrantWindow } from '../../modules/credits/rules/refunds';
import { settleHold } from '../../modules/credits/rules/settlement';
import type { GrantBalance } from '../../modules/credits/rules/burn-down';

const SEED = Number(process.env.FC_SEED ?? 20261122);
const NOW = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;

function grant(id: string, priority: number, expiresInDays: number | null): GrantBalance {
  return {
    id,
    status: 'active',
    priority,
    startsAt: new Date(NOW.getTime() - DAY),
    expiresAt: expiresInDays === null ? null : new Date(NOW.getTime() + expiresInDays * DAY),
    createdAt: new Date(NOW.getTime() - DAY),
    totalCredits: 100,
    usedCredits: 0,
    reservedCredits: 10,
  };
}

describe('grant expiry', () => {
  it('lasts the package duration from its start; no duration never expires', () => {
    expect(grantExpiry(NOW, 30)?.toISOString()).toBe('2026-07-01T00:00:00.000Z');
    expect(grantExpiry(NOW, null)).toBeNull();
  });
});

describe('package rules', () => {
  it('permanent never expires, duration and hybrid always do, credits and hybrid give credits', () => {
    expect(packageRuleViolations({ type: 'permanent', creditsAmount: 5, durationDays: 30 })).toEqual([
      { path: 'durationDays', message: 'must be null or absent for a permanent package' },
    ]);
    expect(packageRuleViolations({ type: 'duration', creditsAmount: 0 })).toHaveLength(1);
    expect(packageRuleViolations({ type: 'hybrid', creditsAmount: 0, durationDays: null })).toHaveLength(2);
    expect(packageRuleViolations({ type: 'credits', creditsAmount: 10, durationDays: null })).toEqual([]);
  });
});

describe('idempotency key reuse', () => {
  it('a first use is not a replay, the same request is, another request under the key is refused', () => {
    expect(isReplayOf(undefined, 'a')).toBe(false);
    expect(isReplayOf('a', 'a')).toBe(true);
    expect(() => isReplayOf('a', 'b')).toThrow(expect.objectContaining({ code: 'IDEMPOTENCY_KEY_REUSED' }));
  });
});

describe('refund rules', () => {
  it('refunds what is left by default, and refuses zero or more than is left', () => {
    expect(refundAmount({ creditsCost: 10, creditsRefunded: 4 }, undefined)).toBe(6);
    expect(refundAmount({ creditsCost: 10, creditsRefunded: 4 }, 6)).toBe(6);
    for (const requested of [0, 7]) {
      expect(() => refundAmount({ creditsCost: 10, creditsRefunded: 4 }, requested)).toThrow(BillingError);
    }
  });

  it('credits go back only to a grant that can still be spent from', () => {
    const base = grant('g', 0, 10);
    expect(canTakeRefundBack(base, NOW)).toBe(true);
    expect(canTakeRefundBack({ ...base, status: 'depleted' }, NOW)).toBe(true);
    expect(canTakeRefundBack({ ...base, status: 'revoked' }, NOW)).toBe(false);
    expect(canTakeRefundBack({ ...base, status: 'expired' }, NOW)).toBe(false);
    expect(canTakeRefundBack({ ...base, expiresAt: NOW }, NOW)).toBe(false);
  });

  it('a replacement grant is valid for the grace period from the refund', () => {
    expect(replacementGrantWindow(NOW, 30)).toEqual({ startsAt: NOW, expiresAt: new Date(NOW.getTime() + 30 * DAY) });
  });
});

describe('hold settlement', () => {
  it('commits in burn-down order over the held grants and releases the rest of each', () => {
    const held = [
      { grant: grant('late', 0, 20), credits: 5 },
      { grant: grant('soon', 0, 2), credits: 5 },
    ];
    const { committed, perGrant } = settleHold(held, 7);
    expect(committed).toEqual([
      { grantId: 'soon', credits: 5 },
      { grantId: 'late', credits: 2 },
    ]);
    expect(perGrant).toEqual([
      { grantId: 'late', committed: 2, released: 3 },
      { grantId: 'soon', committed: 5, released: 0 },
    ]);
  });

  it('every held credit is either committed or released, and exactly the committed amount is committed', () => {
    const heldArb = fc
      .uniqueArray(
        fc.record({ id: fc.uuid(), priority: fc.integer({ min: 0, max: 3 }), expiry: fc.option(fc.integer({ min: 1, max: 60 }), { nil: null }), credits: fc.integer({ min: 0, max: 20 }) }),
        { selector: (g) => g.id, minLength: 1, maxLength: 6 },
      )
      .map((grants) => grants.map((g) => ({ grant: grant(g.id, g.priority, g.expiry), credits: g.credits })));
    fc.assert(
      fc.property(heldArb, fc.double({ min: 0, max: 1, noNaN: true }), (held, share) => {
        const total = held.reduce((sum, h) => sum + h.credits, 0);
        const toCommit = Math.floor(total * share);
        const { committed, perGrant } = settleHold(held, toCommit);
        expect(committed.reduce((sum, a) => sum + a.credits, 0)).toBe(toCommit);
        for (const h of held) {
          const settled = perGrant.find((p) => p.grantId === h.grant.id)!;
          expect(settled.committed + settled.released).toBe(h.credits);
          expect(settled.released).toBeGreaterThanOrEqual(0);
        }
      }),
      { seed: SEED },
    );
  });
});

describe('initialGrantStatus (a grant is written with the status its dates give it)', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  const at = (offsetMs: number) => new Date(now.getTime() + offsetMs);

  it('is pending when the grant starts later, active when it has started, refused when already expired', () => {
    expect(initialGrantStatus({ startsAt: at(1), expiresAt: null }, now)).toEqual({ ok: true, status: 'pending' });
    expect(initialGrantStatus({ startsAt: now, expiresAt: at(1) }, now)).toEqual({ ok: true, status: 'active' });
    expect(initialGrantStatus({ startsAt: at(-10), expiresAt: now }, now)).toEqual({ ok: false, reason: 'already_expired', expiresAt: now });
    expect(initialGrantStatus({ startsAt: at(-10), expiresAt: null }, now, 'pending')).toEqual({ ok: true, status: 'pending' });
  });

  it('never writes active for a window that has not opened, nor anything for one that has closed', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e10, max: 1e10 }), fc.option(fc.integer({ min: 0, max: 1e10 })), (startOffset, duration) => {
        const startsAt = at(startOffset);
        const expiresAt = duration === null ? null : new Date(startsAt.getTime() + duration);
        const result = initialGrantStatus({ startsAt, expiresAt }, now);
        if (expiresAt !== null && expiresAt <= now) return !result.ok;
        return result.ok && result.status === (startsAt > now ? 'pending' : 'active');
      }),
      { seed: 6, numRuns: 500 },
    );
  });
});
