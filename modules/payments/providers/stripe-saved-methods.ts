/**
 * Stripe saved payment methods: one Customer per user, a Checkout Session in `setup` mode where the user
 * saves a card on Stripe's page, the PaymentMethod read back (brand and last4 as Stripe reports them,
 * never card data), off-session PaymentIntents for refills, and detaching a removed method. Every
 * call that creates something carries an idempotency key, so a retry never creates or charges twice.
 */
import Stripe from 'stripe';
import { BillingError } from '../../../platform/errors';
import type { PaymentChannel } from '../../../generated/prisma/client';
import type { PaymentsDeps } from '../deps';
import { offSessionAnswerOf, offSessionChargeKey } from '../rules/off-session';
import type { OffSessionAnswer, SavedMethodCalls, SetupRequest, SetupSession } from './provider';
import { stripeSettings } from './stripe-settings';

/** A Stripe 4xx that no retry can cure: a refusal with its code, not something to try again. */
function stripeRefusal(error: unknown): never {
  if (error instanceof Stripe.errors.StripeInvalidRequestError || error instanceof Stripe.errors.StripeCardError) {
    throw new BillingError('PAYMENT_PROVIDER_ERROR', `Stripe refused: ${error.message}`, { stripeCode: error.code ?? null });
  }
  throw error;
}

/**
 * Creates the user's Customer. The key is derived from the user, so concurrent first saves (and a retry
 * within Stripe's 24-hour key window) are one Customer; the caller keeps it, so later saves never ask again.
 */
export async function createStripeCustomer(deps: PaymentsDeps, userId: string): Promise<string> {
  const customer = await deps.stripe.customers.create({ metadata: { userId } }, { idempotencyKey: `customer-${userId}` }).catch(stripeRefusal);
  return customer.id;
}

function setupCurrency(channel: PaymentChannel): string {
  const currencies = channel.currencies as string[];
  return (currencies[0] ?? 'USD').toLowerCase();
}

/** Where the user saves a card: a Checkout Session in `setup` mode on their Customer. */
async function openStripeSetup(deps: PaymentsDeps, channel: PaymentChannel, setup: SetupRequest): Promise<SetupSession> {
  const settings = stripeSettings.parse(channel.config);
  // The channel travels with the SetupIntent, so its success event names where the method belongs.
  const metadata = { userId: setup.userId, channel: channel.code };
  const session = await deps.stripe.checkout.sessions
    .create(
      {
        mode: 'setup',
        customer: setup.customerRef,
        // Stripe picks the methods the account offers for the currency (a setup-mode session needs one).
        currency: setupCurrency(channel),
        metadata,
        setup_intent_data: { metadata },
        success_url: settings.successUrl ?? `${deps.publicBaseUrl}/payment-methods/saved`,
        cancel_url: settings.cancelUrl ?? `${deps.publicBaseUrl}/payment-methods/cancelled`,
      },
      { idempotencyKey: `setup-${setup.idempotencyKey}` },
    )
    .catch(stripeRefusal);
  return { sessionId: session.id, url: session.url };
}

/** A completed setup as a verified Stripe event reported it. */
export interface StripeSetup {
  setupIntentRef: string;
  customerRef: string | null;
  /** null when the event does not carry it (checkout.session.completed): read from the SetupIntent. */
  paymentMethodRef: string | null;
  channel: string | null;
}

export interface SavedStripeMethod {
  paymentMethodRef: string;
  /** As Stripe reports the card, e.g. "visa"; null for a method that is not a card. */
  brand: string | null;
  last4: string | null;
}

/** The method a completed setup saved, or undefined when the SetupIntent names none (not succeeded). */
export async function readStripeSetup(deps: PaymentsDeps, setup: StripeSetup): Promise<SavedStripeMethod | undefined> {
  let paymentMethodRef = setup.paymentMethodRef;
  if (!paymentMethodRef) {
    const intent = await deps.stripe.setupIntents.retrieve(setup.setupIntentRef).catch(stripeRefusal);
    const method = intent.payment_method;
    paymentMethodRef = typeof method === 'string' ? method : (method?.id ?? null);
  }
  if (!paymentMethodRef) return undefined;
  const method = await deps.stripe.paymentMethods.retrieve(paymentMethodRef).catch(stripeRefusal);
  return { paymentMethodRef: method.id, brand: method.card?.brand ?? null, last4: method.card?.last4 ?? null };
}

/**
 * The charge answers a refused card as an error carrying the PaymentIntent (HTTP 402 card_error): read
 * like a returned intent, so a decline and an authentication_required come back as answers, not throws.
 */
function cardErrorAnswer(error: unknown): OffSessionAnswer {
  if (!(error instanceof Stripe.errors.StripeCardError)) return stripeRefusal(error);
  const intent = error.payment_intent;
  const answer = intent
    ? offSessionAnswerOf({ id: intent.id, status: intent.status, next_action: intent.next_action, last_payment_error: { code: error.code ?? null, decline_code: error.decline_code ?? null } })
    : undefined;
  return answer ?? { status: 'declined', declineCode: error.decline_code ?? error.code ?? 'declined' };
}

export const stripeSavedMethods: SavedMethodCalls = {
  openSetup: openStripeSetup,

  async charge(deps, _channel, charge) {
    if (!charge.customerRef) throw new BillingError('CHANNEL_UNAVAILABLE', 'A Stripe method is charged on its Customer, and this user has none.');
    let intent: Stripe.PaymentIntent;
    try {
      intent = await deps.stripe.paymentIntents.create(
        {
          amount: charge.amountMinor,
          currency: charge.currency.toLowerCase(),
          customer: charge.customerRef,
          payment_method: charge.methodRef,
          off_session: true,
          confirm: true,
          metadata: { orderId: charge.orderId },
        },
        { idempotencyKey: offSessionChargeKey(charge.idempotencyKey) },
      );
    } catch (error) {
      return cardErrorAnswer(error);
    }
    // The same key replays the first answer; an intent still processing is read again by its id.
    const answer = offSessionAnswerOf(intent) ?? offSessionAnswerOf(await deps.stripe.paymentIntents.retrieve(intent.id));
    // Still processing: thrown as a plain error, so the activity retries (same key, same intent) later.
    if (!answer) throw new Error(`Stripe PaymentIntent ${intent.id} is still processing`);
    return answer;
  },

  async forget(deps, _channel, methodRef) {
    try {
      await deps.stripe.paymentMethods.detach(methodRef, {}, { idempotencyKey: `detach-${methodRef}` });
    } catch (error) {
      // Already detached, or unknown to Stripe: the method is forgotten either way.
      if (error instanceof Stripe.errors.StripeInvalidRequestError && (error.code === 'resource_missing' || error.code === 'payment_method_unexpected_state')) return;
      stripeRefusal(error);
    }
  },
};
