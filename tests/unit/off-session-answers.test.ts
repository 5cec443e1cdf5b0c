/**
 * What a Stripe PaymentIntent created off-session means for a refill (modules/payments/rules/off-session.ts):
 * every status Stripe documents, including the ones stripe-mock never returns (succeeded, requires_action,
 * an authentication_required failure, processing).
 */
import fc from 'fast-check';
import { offSessionAnswerOf, offSessionChargeKey, type IntentOutcome } from '../../modules/payments/rules/off-session';

const STATUSES = ['succeeded', 'requires_action', 'requires_payment_method', 'canceled', 'processing'] as const;
const code = fc.option(fc.constantFrom('card_declined', 'authentication_required', 'expired_card'), { nil: null });
const intent: fc.Arbitrary<IntentOutcome> = fc.record({
  id: fc.stringMatching(/^pi_[A-Za-z0-9]{1,24}$/),
  status: fc.constantFrom(...STATUSES),
  next_action: fc.option(fc.record({ redirect_to_url: fc.record({ url: fc.option(fc.webUrl(), { nil: null }) }) }), { nil: null }),
  last_payment_error: fc.option(fc.record({ code, decline_code: fc.option(fc.constantFrom('insufficient_funds', 'do_not_honor'), { nil: null }) }), { nil: null }),
});

describe('off-session answers from a Stripe PaymentIntent', () => {
  it('maps each status: succeeded is approved with the intent id, processing asks again, the rest decline or want the customer', () => {
    fc.assert(
      fc.property(intent, (pi) => {
        const answer = offSessionAnswerOf(pi);
        const authentication = pi.last_payment_error?.code === 'authentication_required';
        switch (pi.status) {
          case 'succeeded':
            expect(answer).toEqual({ status: 'approved', tradeNo: pi.id });
            break;
          case 'processing':
            expect(answer).toBeUndefined();
            break;
          case 'requires_action':
            expect(answer).toEqual({ status: 'requires_action', actionUrl: pi.next_action?.redirect_to_url?.url ?? '' });
            break;
          case 'requires_payment_method':
            expect(answer?.status).toBe(authentication ? 'requires_action' : 'declined');
            break;
          case 'canceled':
            expect(answer).toEqual({ status: 'declined', declineCode: 'canceled' });
            break;
        }
      }),
    );
  });

  it("a decline carries the bank's decline code, else Stripe's error code, else 'declined'", () => {
    const refused = (last_payment_error: IntentOutcome['last_payment_error']) => offSessionAnswerOf({ id: 'pi_1', status: 'requires_payment_method', last_payment_error });
    expect(refused({ code: 'card_declined', decline_code: 'insufficient_funds' })).toEqual({ status: 'declined', declineCode: 'insufficient_funds' });
    expect(refused({ code: 'expired_card', decline_code: null })).toEqual({ status: 'declined', declineCode: 'expired_card' });
    expect(refused(null)).toEqual({ status: 'declined', declineCode: 'declined' });
    expect(refused({ code: 'authentication_required' })).toEqual({ status: 'requires_action', actionUrl: '' });
  });

  it('a status that cannot follow a confirmed create is the provider’s trouble, not an answer', () => {
    expect(() => offSessionAnswerOf({ id: 'pi_1', status: 'requires_confirmation' })).toThrow(/requires_confirmation/);
  });

  it('the Stripe key is the refill key, so one refill attempt is one PaymentIntent however often it is retried', () => {
    fc.assert(fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b) => (offSessionChargeKey(a) === offSessionChargeKey(b)) === (a === b)));
  });
});
