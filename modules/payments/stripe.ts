import Stripe from 'stripe';

export interface StripeSettings {
  secretKey: string;
  /** stripe-mock in dev and tests, e.g. http://127.0.0.1:12111; undefined = Stripe itself. */
  apiBase?: string | undefined;
}

/** One SDK client per process. Every call passes an idempotency key (see modules/payments/providers/stripe.ts). */
export function createStripeClient(settings: StripeSettings): Stripe {
  if (!settings.apiBase) return new Stripe(settings.secretKey, { maxNetworkRetries: 2 });
  const url = new URL(settings.apiBase);
  return new Stripe(settings.secretKey, {
    host: url.hostname,
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    maxNetworkRetries: 2,
  });
}

export type { Stripe };
