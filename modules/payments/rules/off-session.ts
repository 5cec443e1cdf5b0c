/**
 * Off-session charges of saved methods: the answer every provider gives (OffSessionAnswer), and what a
 * Stripe PaymentIntent created off-session (confirm=true, off_session=true) means for a refill.
 * Pure: no I/O, so it is tested on every status Stripe documents, not only the ones stripe-mock returns.
 * https://docs.stripe.com/payments/paymentintents/lifecycle
 */

/** What an off-session charge of a saved method answered: paid, refused, or the bank wants the customer present. */
export type OffSessionAnswer =
  | { status: 'approved'; tradeNo: string }
  | { status: 'declined'; declineCode: string }
  /** `actionUrl`: where the customer completes the step, or '' when the provider gives no page for it. */
  | { status: 'requires_action'; actionUrl: string };

/** The fields of a PaymentIntent (or of the one a card error carries) that decide the answer. */
export interface IntentOutcome {
  id: string;
  status: string;
  next_action?: { redirect_to_url?: { url?: string | null } | null } | null;
  last_payment_error?: { code?: string | null; decline_code?: string | null } | null;
}

/** Stripe's code when the bank wants the customer to authenticate (3-D Secure) and they are not there. */
export const AUTHENTICATION_REQUIRED = 'authentication_required';

/** Where the customer completes the bank's step, when Stripe gives a page for it; '' otherwise. */
function actionUrlOf(intent: IntentOutcome): string {
  return intent.next_action?.redirect_to_url?.url ?? '';
}

function declineCodeOf(intent: IntentOutcome): string {
  return intent.last_payment_error?.decline_code ?? intent.last_payment_error?.code ?? 'declined';
}

/**
 * `succeeded` is paid; `requires_action` (or a failed attempt whose error is authentication_required)
 * wants the customer; `requires_payment_method` (the card was refused) and `canceled` are declines.
 * undefined: not settled yet (`processing`): ask again later. Any other status cannot follow a
 * confirmed create and is the provider's trouble.
 */
export function offSessionAnswerOf(intent: IntentOutcome): OffSessionAnswer | undefined {
  switch (intent.status) {
    case 'succeeded':
      return { status: 'approved', tradeNo: intent.id };
    case 'requires_action':
      return { status: 'requires_action', actionUrl: actionUrlOf(intent) };
    case 'requires_payment_method':
      if (intent.last_payment_error?.code === AUTHENTICATION_REQUIRED) return { status: 'requires_action', actionUrl: actionUrlOf(intent) };
      return { status: 'declined', declineCode: declineCodeOf(intent) };
    case 'canceled':
      return { status: 'declined', declineCode: 'canceled' };
    case 'processing':
      return undefined;
    default:
      throw new Error(`Stripe answered a confirmed off-session PaymentIntent with status "${intent.status}"`);
  }
}

/** The idempotency key of a refill charge at Stripe: the refill's own key, prefixed so it names what it is. */
export function offSessionChargeKey(refillChargeKey: string): string {
  return `off-session-${refillChargeKey}`;
}
