/** Pure rules of the orders feature: state machine, renewal period, proportional revocation, gateway signature. */
import fc from 'fast-check';
import { canTransition, decidePayment, ORDER_STATUSES, statusAfterRefund, statusesLeadingTo } from '../../modules/orders/rules/order-status';
import { DAY_MS, planPeriod } from '../../modules/subscriptions/rules/subscription-period';
import { planRevocation, refundableMinor } from '../../modules/orders/rules/refund-proportion';
import { canonicalString, hasValidSignature, signGatewayParams, withSignature } from '../../modules/payments/rules/gateway-signature';

/** Fixed seed: a failure names the same counterexample on every run. */
const PROPERTY = { seed: 20261122, numRuns: 300 } as const;

describe('order state machine', () => {
  it('pays from unpaid states only, and never leaves refunded', () => {
    expect(statusesLeadingTo('paid').sort()).toEqual(['cancelled', 'expired', 'failed', 'pending_payment']);
    for (const to of ORDER_STATUSES) expect(canTransition('refunded', to)).toBe(false);
    expect(canTransition('completed', 'paid')).toBe(false);
    expect(canTransition('pending_payment', 'completed')).toBe(false);
    expect(canTransition('provisioning', 'completed')).toBe(true);
  });

  it('provisions the first payment, ignores the same one, refunds a different second one', () => {
    expect(decidePayment(null, 'pi_1')).toBe('provision');
    expect(decidePayment('pi_1', 'pi_1')).toBe('already_recorded');
    expect(decidePayment('pi_1', 'pi_2')).toBe('refund_duplicate');
  });

  it('names the refunded status by the total refunded', () => {
    expect(statusAfterRefund(1000, 1000)).toBe('refunded');
    expect(statusAfterRefund(1000, 1)).toBe('partially_refunded');
  });
});

describe('renewal period rule', () => {
  const now = new Date('2026-11-22T10:00:00.000Z');

  it('starts a first period now and a running subscription renews from its current end', () => {
    expect(planPeriod(null, now, 30)).toEqual({ kind: 'start', start: now, end: new Date(now.getTime() + 30 * DAY_MS) });
    const end = new Date('2026-12-01T00:00:00.000Z');
    expect(planPeriod({ status: 'active', currentPeriodEnd: end }, now, 30)).toEqual({
      kind: 'renewal',
      start: end,
      end: new Date(end.getTime() + 30 * DAY_MS),
    });
  });

  it('restarts a lapsed or cancelled subscription now; a permanent package has no end', () => {
    const past = new Date('2026-11-01T00:00:00.000Z');
    expect(planPeriod({ status: 'active', currentPeriodEnd: past }, now, 30).start).toEqual(now);
    expect(planPeriod({ status: 'cancelled', currentPeriodEnd: new Date('2027-01-01T00:00:00Z') }, now, 30).kind).toBe('restart');
    expect(planPeriod(null, now, null)).toEqual({ kind: 'start', start: now, end: null });
  });

  it('never shortens: a period starts no earlier than now and than the running end', () => {
    fc.assert(
      fc.property(fc.integer({ min: -100 * DAY_MS, max: 100 * DAY_MS }), fc.integer({ min: 1, max: 3650 }), (offset, days) => {
        const currentEnd = new Date(now.getTime() + offset);
        const plan = planPeriod({ status: 'active', currentPeriodEnd: currentEnd }, now, days);
        expect(plan.start.getTime()).toBe(Math.max(now.getTime(), currentEnd.getTime()));
        expect(plan.end!.getTime() - plan.start.getTime()).toBe(days * DAY_MS);
      }),
      PROPERTY,
    );
  });
});

describe('proportional revocation rule', () => {
  const base = { orderAmountMinor: 1000, refundedBeforeMinor: 0, grantedCredits: 100, creditsAccountedBefore: 0, periodSeconds: 3000, secondsRevokedBefore: 0 };

  it('takes the refunded share of credits and time; full refund takes all', () => {
    expect(planRevocation({ ...base, refundMinor: 250, grantAvailable: 100 })).toEqual({ creditsToRevoke: 25, creditsShortfall: 0, secondsToRevoke: 750, full: false });
    expect(planRevocation({ ...base, refundMinor: 1000, grantAvailable: 100 })).toEqual({ creditsToRevoke: 100, creditsShortfall: 0, secondsToRevoke: 3000, full: true });
  });

  it('never goes below zero: spent credits become the shortfall', () => {
    expect(planRevocation({ ...base, refundMinor: 1000, grantAvailable: 30 })).toEqual({ creditsToRevoke: 30, creditsShortfall: 70, secondsToRevoke: 3000, full: true });
  });

  it('refuses more than is left to refund', () => {
    expect(() => planRevocation({ ...base, refundedBeforeMinor: 900, refundMinor: 101, grantAvailable: 100 })).toThrow(RangeError);
    expect(refundableMinor(1000, 900)).toBe(100);
  });

  it('partial refunds add up to the full refund: all credits and time accounted for, none twice', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.array(fc.integer({ min: 1, max: 1_000 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 10_000 }),
        (amount, credits, seconds, weights, spent) => {
          const total = weights.reduce((a, b) => a + b, 0);
          // Split the amount into parts proportional to the weights; the last part takes the rest.
          const parts = weights.map((w) => Math.floor((amount * w) / total));
          parts[parts.length - 1]! += amount - parts.reduce((a, b) => a + b, 0);
          let refunded = 0;
          let accounted = 0;
          let revoked = 0;
          let secondsRevoked = 0;
          let available = Math.max(0, credits - Math.min(spent, credits));
          for (const part of parts.filter((p) => p > 0)) {
            const plan = planRevocation({
              orderAmountMinor: amount,
              refundedBeforeMinor: refunded,
              refundMinor: part,
              grantedCredits: credits,
              creditsAccountedBefore: accounted,
              grantAvailable: available,
              periodSeconds: seconds,
              secondsRevokedBefore: secondsRevoked,
            });
            expect(plan.creditsToRevoke).toBeGreaterThanOrEqual(0);
            expect(plan.creditsToRevoke).toBeLessThanOrEqual(available);
            refunded += part;
            accounted += plan.creditsToRevoke + plan.creditsShortfall;
            revoked += plan.creditsToRevoke;
            available -= plan.creditsToRevoke;
            secondsRevoked += plan.secondsToRevoke;
            expect(plan.full).toBe(refunded === amount);
          }
          expect(accounted).toBe(credits);
          expect(secondsRevoked).toBe(seconds);
          expect(revoked).toBe(Math.min(credits, Math.max(0, credits - Math.min(spent, credits))));
        },
      ),
      PROPERTY,
    );
  });
});

describe('gateway signature', () => {
  const secret = 'gateway-secret';

  it('signs the sorted non-empty parameters without sign', () => {
    expect(canonicalString({ out_trade_no: 'o1', amount: '999', sign: 'x', empty: '', currency: 'USD' })).toBe('amount=999&currency=USD&out_trade_no=o1');
    // Known answer, so an integrator can check an implementation against it.
    expect(signGatewayParams({ amount: '999', currency: 'USD', out_trade_no: 'o1' }, 'secret')).toBe(
      require('node:crypto').createHmac('sha256', 'secret').update('amount=999&currency=USD&out_trade_no=o1').digest('hex'),
    );
  });

  it('accepts its own signature whatever the order, and rejects any change or another secret', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^[a-z_]{1,12}$/), fc.string({ minLength: 1, maxLength: 20 }), { minKeys: 1, maxKeys: 8 }),
        (params) => {
          const signed = withSignature(params, secret);
          const reordered = Object.fromEntries(Object.entries(signed).reverse());
          expect(hasValidSignature(reordered, secret)).toBe(true);
          expect(hasValidSignature(signed, 'other-secret')).toBe(false);
          const name = Object.keys(params).find((key) => key !== 'sign')!;
          expect(hasValidSignature({ ...signed, [name]: `${signed[name]}x` }, secret)).toBe(false);
        },
      ),
      PROPERTY,
    );
    expect(hasValidSignature({ a: '1', sign: 'not-hex' }, secret)).toBe(false);
  });
});
