/**
 * The commit-time rule (modules/reservations/rules/commit-time.ts) at its boundaries: a commit counts by when the API
 * accepted it, up to COMMIT_GRACE_MS after the deadline. The workflow's validator applies this rule.
 */
import fc from 'fast-check';
import { commitAllowed, commitTimeVerdict } from '../../modules/reservations/rules/commit-time';

const DEADLINE = Date.parse('2030-01-01T00:00:00.000Z');
const GRACE = 60_000;

describe('commitTimeVerdict', () => {
  it.each([
    ['accepted 1 ms before the deadline, applied at once', DEADLINE - 1, DEADLINE - 1, 'allowed'],
    ['accepted 1 ms before the deadline, applied 1 ms before deadline + grace', DEADLINE - 1, DEADLINE + GRACE - 1, 'allowed'],
    ['accepted 1 ms before the deadline, applied exactly at deadline + grace', DEADLINE - 1, DEADLINE + GRACE, 'grace_expired'],
    ['accepted exactly at the deadline', DEADLINE, DEADLINE, 'accepted_after_deadline'],
    ['accepted after the deadline, within the grace', DEADLINE + 1, DEADLINE + 2, 'accepted_after_deadline'],
  ] as const)('%s: %s', (_name, acceptedAt, now, verdict) => {
    expect(commitTimeVerdict({ acceptedAt, deadline: DEADLINE, now, graceMs: GRACE })).toBe(verdict);
  });

  it('reads ISO-8601 instants (what CommitArgs carries) like epoch milliseconds', () => {
    const acceptedAt = new Date(DEADLINE - 1).toISOString();
    expect(commitTimeVerdict({ acceptedAt, deadline: new Date(DEADLINE).toISOString(), now: DEADLINE + 10, graceMs: GRACE })).toBe('allowed');
  });

  it('judges a commit without acceptedAt (sent before the rule) at workflow time, as before', () => {
    expect(commitAllowed({ deadline: DEADLINE, now: DEADLINE - 1, graceMs: GRACE })).toBe(true);
    expect(commitAllowed({ deadline: DEADLINE, now: DEADLINE, graceMs: GRACE })).toBe(false);
  });

  it('with no grace, only a commit applied before the deadline counts', () => {
    expect(commitAllowed({ acceptedAt: DEADLINE - 5, deadline: DEADLINE, now: DEADLINE - 1, graceMs: 0 })).toBe(true);
    expect(commitAllowed({ acceptedAt: DEADLINE - 5, deadline: DEADLINE, now: DEADLINE, graceMs: 0 })).toBe(false);
  });

  it('never lets clock skew make a late commit look early: acceptedAt after now is clamped to now', () => {
    expect(commitTimeVerdict({ acceptedAt: DEADLINE + 5_000, deadline: DEADLINE, now: DEADLINE - 1, graceMs: GRACE })).toBe('allowed');
    expect(commitTimeVerdict({ acceptedAt: DEADLINE - 5_000, deadline: DEADLINE, now: DEADLINE + 1, graceMs: GRACE })).toBe('allowed');
  });

  it('is exactly "accepted before the deadline and applied before deadline + grace" (property, seeded)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -200_000, max: 200_000 }), fc.integer({ min: 0, max: 400_000 }), fc.integer({ min: 0, max: 120_000 }), (acceptedOffset, appliedAfterAccept, graceMs) => {
        const acceptedAt = DEADLINE + acceptedOffset;
        const now = acceptedAt + appliedAfterAccept;
        expect(commitAllowed({ acceptedAt, deadline: DEADLINE, now, graceMs })).toBe(acceptedAt < DEADLINE && now < DEADLINE + graceMs);
      }),
      { seed: Number(process.env.FC_SEED ?? 20261121), numRuns: 2000 },
    );
  });
});
