/** Rules checked again when a payment is provisioned (modules/orders/rules/payment-time-rules.ts), and where a refused payment's order ends. */
import fc from 'fast-check';
import { canTransition, ORDER_STATUSES, statusesLeadingTo } from '../../modules/orders/rules/order-status';
import { couponRetakeRefusal, holdsPermanentPackage } from '../../modules/orders/rules/payment-time-rules';

const subscriptionArb = fc.option(
  fc.record({ status: fc.constantFrom('active' as const, 'expired' as const, 'cancelled' as const), currentPeriodEnd: fc.option(fc.date({ noInvalidDate: true })) }),
);

describe('permanent package ownership rule', () => {
  it('a live grant of it is ownership, whatever the subscription says', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), subscriptionArb, (liveGrants, subscription) => holdsPermanentPackage({ liveGrants, subscription })));
  });

  it('without a grant, only a running subscription without end (provisioned, grant not yet written) is ownership', () => {
    fc.assert(
      fc.property(subscriptionArb, (subscription) => {
        const expected = subscription !== null && subscription.status === 'active' && subscription.currentPeriodEnd === null;
        expect(holdsPermanentPackage({ liveGrants: 0, subscription })).toBe(expected);
      }),
    );
    // A fully refunded permanent order leaves its subscription cancelled: the package can be bought again.
    expect(holdsPermanentPackage({ liveGrants: 0, subscription: { status: 'cancelled', currentPeriodEnd: null } })).toBe(false);
  });
});

describe('coupon use taken again by a late payment', () => {
  const limit = fc.option(fc.integer({ min: 1, max: 5 }));
  const count = fc.integer({ min: 0, max: 6 });

  it('is refused exactly when it would exceed the per-user or the total limit, the per-user reason first', () => {
    fc.assert(
      fc.property(limit, count, limit, count, (maxPerUser, userUses, maxRedemptions, usedCount) => {
        const refusal = couponRetakeRefusal({ maxPerUser, userUses, maxRedemptions, usedCount });
        const userFull = maxPerUser !== null && userUses >= maxPerUser;
        const totalFull = maxRedemptions !== null && usedCount >= maxRedemptions;
        expect(refusal).toBe(userFull ? 'COUPON_USER_LIMIT_REACHED' : totalFull ? 'COUPON_EXHAUSTED' : null);
      }),
    );
  });
});

describe('a refused payment closes the order refunded', () => {
  it('from paid or provisioning (where the saga finds it), and from nowhere unpaid or settled', () => {
    expect(statusesLeadingTo('refunded').sort()).toEqual(['completed', 'paid', 'partially_refunded', 'provisioning']);
    for (const to of ORDER_STATUSES) expect(canTransition('refunded', to)).toBe(false);
  });
});
