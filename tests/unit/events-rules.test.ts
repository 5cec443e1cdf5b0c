import fc from 'fast-check';
import { balanceLowTransition, type BalanceStanding } from '../../modules/events/rules/balance-low';
import { DEFAULT_RETRY_SCHEDULE_MS, MAX_RETRY_AFTER_MS, classifyResponse, nextRetryDelayMs, parseRetryAfter } from '../../modules/events/rules/webhook-retries';
import { webhookUrlProblem } from '../../modules/events/rules/webhook-url';

const seed = 20261122;

describe('balance low (modules/events/rules/balance-low.ts)', () => {
  it('emits exactly when the balance falls from at-or-above to below the threshold; a balance never at or above it has not crossed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 60 }), (threshold, balances) => {
        let stored: BalanceStanding = null; // a new user: no record
        let previous: number | null = null; // never noted
        let everAtOrAbove = false;
        for (const balance of balances) {
          const decision = balanceLowTransition(stored, balance, threshold);
          const fell = previous !== null && previous >= threshold && balance < threshold;
          expect(decision.emit).toBe(fell);
          everAtOrAbove ||= balance >= threshold;
          // The stored standing: nothing until first seen at or above, then whether it is below.
          expect(decision.below).toBe(everAtOrAbove ? balance < threshold : null);
          stored = decision.below;
          previous = balance;
        }
      }),
    );
  });

  it('a new user granted less than the threshold gets no event; the first fall after reaching it gets one', () => {
    expect(balanceLowTransition(null, 5, 10)).toEqual({ below: null, emit: false });
    expect(balanceLowTransition(null, 0, 10)).toEqual({ below: null, emit: false }); // a grant that starts later
    expect(balanceLowTransition(null, 100, 10)).toEqual({ below: false, emit: false });
    expect(balanceLowTransition(false, 9, 10)).toEqual({ below: true, emit: true });
    expect(balanceLowTransition(true, 3, 10)).toEqual({ below: true, emit: false });
  });
});

describe('webhook retries (modules/events/rules/webhook-retries.ts)', () => {
  it('follows the schedule, never hurried by Retry-After, never delayed past the cap, and ends after the last attempt', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), fc.option(fc.integer({ min: 0, max: 10 * MAX_RETRY_AFTER_MS })), (attempt, retryAfter) => {
        const delay = nextRetryDelayMs(DEFAULT_RETRY_SCHEDULE_MS, attempt, retryAfter);
        if (attempt >= DEFAULT_RETRY_SCHEDULE_MS.length) return expect(delay).toBeNull();
        expect(delay).toBeGreaterThanOrEqual(DEFAULT_RETRY_SCHEDULE_MS[attempt]!);
        expect(delay).toBeLessThanOrEqual(Math.max(DEFAULT_RETRY_SCHEDULE_MS[attempt]!, MAX_RETRY_AFTER_MS));
      }),
      { seed },
    );
  });

  it('is at least as patient as Svix', () => {
    expect(DEFAULT_RETRY_SCHEDULE_MS).toEqual([0, 5e3, 3e5, 1.8e6, 7.2e6, 1.8e7, 3.6e7, 3.6e7]);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('120', 0)).toBe(120_000);
    expect(parseRetryAfter(new Date(60_000).toUTCString(), 0)).toBe(60_000);
    expect(parseRetryAfter('soon', 0)).toBeNull();
    expect(parseRetryAfter(null, 0)).toBeNull();
  });

  it('classifies answers', () => {
    expect([200, 204, 299].map(classifyResponse)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(classifyResponse(410)).toBe('gone');
    expect([null, 301, 404, 429, 500].map(classifyResponse)).toEqual(['retry', 'retry', 'retry', 'retry', 'retry']);
  });
});

describe('webhook URLs (modules/events/rules/webhook-url.ts)', () => {
  it('requires https in production and allows plain http only to loopback elsewhere', () => {
    expect(webhookUrlProblem('https://example.com/hook', true)).toBeNull();
    expect(webhookUrlProblem('http://127.0.0.1:8080/hook', true)).toMatch(/https/);
    expect(webhookUrlProblem('http://127.0.0.1:8080/hook', false)).toBeNull();
    expect(webhookUrlProblem('http://localhost/hook', false)).toBeNull();
    expect(webhookUrlProblem('http://[::1]/hook', false)).toBeNull();
    expect(webhookUrlProblem('http://example.com/hook', false)).toMatch(/loopback/);
    expect(webhookUrlProblem('ftp://example.com', false)).toMatch(/https/);
    expect(webhookUrlProblem('https://user:pw@example.com', false)).toMatch(/credentials/);
    expect(webhookUrlProblem('not a url', false)).toMatch(/absolute/);
  });
});
