import fc from 'fast-check';
import {
  availableCredits,
  compareBurnDownOrder,
  drawInOrder,
  isSpendable,
  planSpend,
  spendableTotal,
  type GrantBalance,
} from '../../modules/credits/rules/burn-down';

const NOW = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;

const grantArb: fc.Arbitrary<GrantBalance> = fc
  .record({
    id: fc.uuid(),
    status: fc.constantFrom('pending', 'active', 'active', 'active', 'expired', 'depleted', 'revoked'),
    priority: fc.integer({ min: 0, max: 5 }),
    startOffsetDays: fc.integer({ min: -30, max: 3 }),
    expiryOffsetDays: fc.option(fc.integer({ min: -3, max: 60 }), { nil: null }),
    createdOffsetMs: fc.integer({ min: -10 * DAY, max: 0 }),
    totalCredits: fc.integer({ min: 0, max: 50 }),
    usedShare: fc.double({ min: 0, max: 1, noNaN: true }),
    reservedShare: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map((g) => {
    const used = Math.floor(g.totalCredits * g.usedShare);
    const reserved = Math.floor((g.totalCredits - used) * g.reservedShare);
    return {
      id: g.id,
      status: g.status,
      priority: g.priority,
      startsAt: new Date(NOW.getTime() + g.startOffsetDays * DAY),
      expiresAt: g.expiryOffsetDays === null ? null : new Date(NOW.getTime() + g.expiryOffsetDays * DAY),
      createdAt: new Date(NOW.getTime() + g.createdOffsetMs),
      totalCredits: g.totalCredits,
      usedCredits: used,
      reservedCredits: reserved,
    };
  });

function grant(overrides: Partial<GrantBalance> & { id: string }): GrantBalance {
  return {
    status: 'active',
    priority: 100,
    startsAt: new Date(NOW.getTime() - DAY),
    expiresAt: null,
    createdAt: new Date(NOW.getTime() - DAY),
    totalCredits: 10,
    usedCredits: 0,
    reservedCredits: 0,
    ...overrides,
  };
}

describe('burn-down order', () => {
  it('spends by priority, then soonest expiry (never-expiring last), spanning grants', () => {
    const grants = [
      grant({ id: 'never-p1', priority: 1, expiresAt: null, totalCredits: 5 }),
      grant({ id: 'late-p1', priority: 1, expiresAt: new Date(NOW.getTime() + 20 * DAY), totalCredits: 5 }),
      grant({ id: 'soon-p2', priority: 2, expiresAt: new Date(NOW.getTime() + 1 * DAY), totalCredits: 5 }),
    ];
    const plan = planSpend(grants, 12, NOW);
    expect(plan).toEqual({
      ok: true,
      allocations: [
        { grantId: 'late-p1', credits: 5 },
        { grantId: 'never-p1', credits: 5 },
        { grantId: 'soon-p2', credits: 2 },
      ],
    });
  });

  it('skips pending, expired, not-yet-started and empty grants', () => {
    const grants = [
      grant({ id: 'pending', status: 'pending' }),
      grant({ id: 'expired-status', status: 'expired' }),
      grant({ id: 'past-expiry', expiresAt: new Date(NOW.getTime() - 1) }),
      grant({ id: 'future-start', startsAt: new Date(NOW.getTime() + DAY) }),
      grant({ id: 'empty', usedCredits: 6, reservedCredits: 4 }),
      grant({ id: 'ok', totalCredits: 3 }),
    ];
    expect(planSpend(grants, 3, NOW)).toEqual({ ok: true, allocations: [{ grantId: 'ok', credits: 3 }] });
    expect(planSpend(grants, 4, NOW)).toEqual({ ok: false, required: 4, available: 3 });
  });

  it('plans a spend that never overdraws a grant, sums exactly, and follows the order', () => {
    fc.assert(
      fc.property(fc.array(grantArb, { maxLength: 8 }), fc.integer({ min: 0, max: 200 }), (grants, credits) => {
        const plan = planSpend(grants, credits, NOW);
        const total = spendableTotal(grants, NOW);
        if (!plan.ok) {
          expect(credits).toBeGreaterThan(total);
          expect(plan.available).toBe(total);
          return;
        }
        expect(credits).toBeLessThanOrEqual(total);
        expect(plan.allocations.reduce((sum, a) => sum + a.credits, 0)).toBe(credits);
        const byId = new Map(grants.map((g) => [g.id, g]));
        for (const allocation of plan.allocations) {
          const source = byId.get(allocation.grantId)!;
          expect(isSpendable(source, NOW)).toBe(true);
          expect(allocation.credits).toBeGreaterThan(0);
          expect(allocation.credits).toBeLessThanOrEqual(availableCredits(source));
        }
        // Every grant drawn from, except the last, is emptied; no earlier grant is skipped.
        const ordered = grants.filter((g) => isSpendable(g, NOW)).sort(compareBurnDownOrder);
        plan.allocations.forEach((allocation, index) => {
          expect(allocation.grantId).toBe(ordered[index]!.id);
          if (index < plan.allocations.length - 1) expect(allocation.credits).toBe(availableCredits(ordered[index]!));
        });
      }),
    );
  });

  it('is a total order: antisymmetric and transitive', () => {
    fc.assert(
      fc.property(grantArb, grantArb, grantArb, (a, b, c) => {
        expect(Math.sign(compareBurnDownOrder(a, b))).toBe(-Math.sign(compareBurnDownOrder(b, a)));
        if (compareBurnDownOrder(a, b) <= 0 && compareBurnDownOrder(b, c) <= 0) {
          expect(compareBurnDownOrder(a, c)).toBeLessThanOrEqual(0);
        }
      }),
    );
  });

  it('rejects negative or fractional amounts', () => {
    expect(() => planSpend([], -1, NOW)).toThrow(RangeError);
    expect(() => planSpend([], 1.5, NOW)).toThrow(RangeError);
  });
});

describe('drawInOrder (commit split and refund return)', () => {
  it('takes exactly the amount, in order, never more than a pool holds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ grantId: fc.uuid(), credits: fc.integer({ min: 0, max: 20 }) }), { maxLength: 6 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (pools, share) => {
          const size = pools.reduce((sum, p) => sum + p.credits, 0);
          const credits = Math.floor(size * share);
          const drawn = drawInOrder(pools, credits);
          expect(drawn.reduce((sum, d) => sum + d.credits, 0)).toBe(credits);
          let cursor = 0;
          for (const d of drawn) {
            while (pools[cursor]!.grantId !== d.grantId) cursor++;
            expect(d.credits).toBeLessThanOrEqual(pools[cursor]!.credits);
            cursor++;
          }
        },
      ),
    );
  });

  it('refuses to draw more than the pools hold', () => {
    expect(() => drawInOrder([{ grantId: 'a', credits: 2 }], 3)).toThrow(RangeError);
  });
});
