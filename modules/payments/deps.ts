import type Stripe from 'stripe';

/** What the payment services need; built once per process (api/main.ts, worker/main.ts, tests). */
export interface PaymentsDeps {
  stripe: Stripe;
  stripeWebhookSecret: string;
  publicBaseUrl: string;
  orderExpirySeconds: number;
}
