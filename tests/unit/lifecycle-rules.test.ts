import fc from 'fast-check';
import { isSpendable } from '../../modules/credits/rules/burn-down';
import { hasExpiredAt } from '../../modules/lifecycle/rules/lifecycle';

describe('hasExpiredAt (modules/lifecycle/rules/lifecycle.ts: the instant decides whether a grant may still change)', () => {
  it('is true exactly when the spend rule no longer spends from the grant because of its expiry', () => {
    const instant = fc.integer({ min: 0, max: 4_102_444_800_000 });
    fc.assert(
      fc.property(fc.option(instant, { nil: null }), instant, (expiresAt, now) => {
        const grant = {
          id: 'g',
          status: 'active' as const,
          priority: 100,
          startsAt: new Date(0),
          expiresAt: expiresAt === null ? null : new Date(expiresAt),
          createdAt: new Date(0),
          totalCredits: 10,
          usedCredits: 0,
          reservedCredits: 0,
        };
        expect(hasExpiredAt(expiresAt, now)).toBe(!isSpendable(grant, new Date(now)));
      }),
    );
  });

  it('counts the expiry instant itself as expired (spends take expiresAt > now)', () => {
    expect(hasExpiredAt(1_000, 1_000)).toBe(true);
    expect(hasExpiredAt(1_001, 1_000)).toBe(false);
    expect(hasExpiredAt(null, Number.MAX_SAFE_INTEGER)).toBe(false);
  });
});
