/**
 * What a payment provider is: the one interface every channel kind implements. The registry
 * (modules/payments/providers/registry.ts) maps each kind of the Prisma enum `PaymentChannelKind` to
 * its provider; nothing else in the code branches on the kind.
 */
import type { Order, OrderPayment, PaymentChannel } from '../../../generated/prisma/client';
import type { z } from '../../../platform/zod';
import type { Database } from '../../../platform/database';
import type { PaymentsDeps } from '../deps';
import type { WebhookDelivery } from '../webhooks';
import type { OffSessionAnswer } from '../rules/off-session';

/** Where the payer goes to pay (a hosted page), and the provider's name for that session. */
export interface PaymentSession {
  reference: string | null;
  url: string | null;
}

/** One payment as the provider's own records show it, normalised for reconciliation. */
export interface ProviderPaymentRecord {
  orderId: string | null;
  externalId: string;
  amountMinor: number;
  currency: string;
  succeeded: boolean;
  refundedMinor: number;
}

/** The payment a refund gives money back from. */
export type RefundablePayment = Pick<OrderPayment, 'externalId' | 'currency' | 'orderId'>;

/** An incoming notification, as the HTTP edge received it. */
export interface WebhookRequest {
  rawBody: Buffer;
  header(name: string): string | undefined;
  /** The channel the notification's URL names, for providers whose webhooks are per channel. */
  channelCode?: string | undefined;
}

/** Reads a verified notification into what it asks of an order. */
export type VerifiedWebhook = () => Promise<WebhookDelivery>;

export type { OffSessionAnswer } from '../rules/off-session';

/** One off-session charge of a saved method for an order. */
export interface SavedMethodCharge {
  /** The provider's reference of the saved method (a gateway token, a Stripe PaymentMethod id). */
  methodRef: string;
  /** The provider's customer the method is attached to (Stripe), null where the provider has none. */
  customerRef: string | null;
  orderId: string;
  amountMinor: number;
  currency: string;
  /** Derived from the refill and its attempt: a repeat is the same charge at the provider. */
  idempotencyKey: string;
}

/** What a provider that keeps saved methods does with them. */
export interface SavedMethodCalls {
  charge(deps: PaymentsDeps, channel: PaymentChannel, charge: SavedMethodCharge): Promise<OffSessionAnswer>;
  /** Asks the provider to forget the method; one already gone is forgotten (idempotent). */
  forget(deps: PaymentsDeps, channel: PaymentChannel, methodRef: string): Promise<void>;
  /**
   * Opens the provider's page where the user saves a method on their customer (Stripe's setup-mode
   * Checkout); the provider's signed event reports it saved. null: the client hands over a token instead.
   */
  readonly openSetup: ((deps: PaymentsDeps, channel: PaymentChannel, setup: SetupRequest) => Promise<SetupSession>) | null;
}

export interface SetupRequest {
  userId: string;
  customerRef: string;
  /** Derived from the user and the caller's Idempotency-Key: a retry opens the same session. */
  idempotencyKey: string;
}

export interface SetupSession {
  sessionId: string;
  url: string | null;
}

export interface PaymentProvider {
  /** The channel settings this kind stores, validated on create and update (strict: no stray keys). */
  readonly configSchema: z.ZodType<Record<string, unknown>>;
  /** Settings shown as "***" in admin views. */
  readonly secretFields: readonly string[];

  /**
   * Opens a payment for the order; idempotent per order (a retried activity never opens two).
   * null: the kind opens nothing (the money comes outside the system and an operator confirms it).
   */
  startPayment(deps: PaymentsDeps, order: Order, channel: PaymentChannel): Promise<PaymentSession | null>;

  /** Best effort: closes a session left open after the order expired or was cancelled, so it cannot be paid. */
  closePayment(deps: PaymentsDeps, order: Order, channel: PaymentChannel): Promise<void>;

  /** Gives `amountMinor` of a payment back; `refundKey` names the refund (idempotency). Answers the provider's refund id. */
  refund(deps: PaymentsDeps, channel: PaymentChannel, payment: RefundablePayment, amountMinor: number, refundKey: string): Promise<string>;

  /**
   * The provider's records of the payments and refunds of a period, for reconciliation. null: the kind
   * has no records to ask (reconciliation refuses its channels).
   */
  readonly listPayments: ((deps: PaymentsDeps, channel: PaymentChannel, from: Date, to: Date) => Promise<ProviderPaymentRecord[]>) | null;

  /**
   * Verifies a notification's signature (throws WEBHOOK_SIGNATURE_INVALID, or NOT_FOUND for an unknown
   * channel) before anything else is read, and answers how to read it. null: the kind receives none.
   */
  readonly verifyWebhook: ((deps: PaymentsDeps, db: Database, request: WebhookRequest) => Promise<VerifiedWebhook>) | null;

  /** Off-session charges of saved methods (top-up refills). null: the kind saves no methods. */
  readonly savedMethods: SavedMethodCalls | null;
}
