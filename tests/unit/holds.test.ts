import fc from 'fast-check';
import { BillingError } from '../../platform/errors';
import {
  hasRefundableCredits,
  holdDeadline,
  latestHoldDeadline,
  refundWindowEnd,
  requireCommitWithinHold,
} from '../../modules/credits/rules/holds';

const CREATED = new Date('2026-06-01T12:00:00Z');
const SECOND = 1000;
const DAY = 86_400_000;

function refusal(rule: () => unknown): BillingError | undefined {
  try {
    rule();
    return undefined;
  } catch (error) {
    if (error instanceof BillingError) return error;
    throw error;
  }
}

describe('holdDeadline', () => {
  it('places a 15-minute hold 15 minutes after now', () => {
    expect(holdDeadline({ now: CREATED, holdSeconds: 900, createdAt: CREATED, maxHoldSeconds: 86_400 })).toEqual(
      new Date('2026-06-01T12:15:00Z'),
    );
  });

  it('refuses a hold longer than the maximum when it is placed, naming the bound', () => {
    const error = refusal(() => holdDeadline({ now: CREATED, holdSeconds: 3601, createdAt: CREATED, maxHoldSeconds: 3600 }));
    expect(error).toMatchObject({
      code: 'HOLD_LIMIT_EXCEEDED',
      httpStatus: 422,
      details: { maxHoldSeconds: 3600, latestExpiresAt: '2026-06-01T13:00:00.000Z' },
    });
    expect(holdDeadline({ now: CREATED, holdSeconds: 3600, createdAt: CREATED, maxHoldSeconds: 3600 })).toEqual(latestHoldDeadline(CREATED, 3600));
  });

  it('extends from now, but never past the maximum counted from creation', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 * 86_400 }), // seconds since creation
        fc.integer({ min: 1, max: 86_400 }), // holdSeconds
        fc.integer({ min: 1, max: 86_400 }), // maxHoldSeconds
        (elapsed, holdSeconds, maxHoldSeconds) => {
          const now = new Date(CREATED.getTime() + elapsed * SECOND);
          const latest = CREATED.getTime() + maxHoldSeconds * SECOND;
          const wanted = now.getTime() + holdSeconds * SECOND;
          const error = refusal(() => holdDeadline({ now, holdSeconds, createdAt: CREATED, maxHoldSeconds }));
          if (wanted <= latest) {
            expect(error).toBeUndefined();
            expect(holdDeadline({ now, holdSeconds, createdAt: CREATED, maxHoldSeconds }).getTime()).toBe(wanted);
          } else {
            expect(error?.code).toBe('HOLD_LIMIT_EXCEEDED');
          }
        },
      ),
    );
  });
});

describe('requireCommitWithinHold', () => {
  it('allows committing up to what is held and refuses more, with both numbers', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 2000 }), (held, requested) => {
        const error = refusal(() => requireCommitWithinHold(held, requested));
        if (requested <= held) expect(error).toBeUndefined();
        else expect(error).toMatchObject({ code: 'COMMIT_EXCEEDS_HOLD', httpStatus: 422, details: { held, requested } });
      }),
    );
  });
});

describe('refund window', () => {
  it('ends the configured time after the commit (30 days by default)', () => {
    expect(refundWindowEnd(CREATED, 30 * 86_400)).toEqual(new Date(CREATED.getTime() + 30 * DAY));
    expect(refundWindowEnd(CREATED, 0)).toEqual(CREATED);
  });

  it('has credits to refund until the whole cost is refunded', () => {
    expect(hasRefundableCredits({ creditsCost: 5, creditsRefunded: 4 })).toBe(true);
    expect(hasRefundableCredits({ creditsCost: 5, creditsRefunded: 5 })).toBe(false);
  });
});

describe('holdDeadline with a duration past any date', () => {
  it('is refused with HOLD_LIMIT_EXCEEDED, never an invalid date', () => {
    const now = new Date('2026-06-01T12:00:00Z');
    for (const holdSeconds of [9e15, Number.MAX_SAFE_INTEGER, Infinity]) {
      expect(() => holdDeadline({ now, holdSeconds, createdAt: now, maxHoldSeconds: 86_400 })).toThrow(
        expect.objectContaining({ code: 'HOLD_LIMIT_EXCEEDED' }),
      );
    }
  });
});
