import type { BaseConfig } from '../config';
import type { PaymentsDeps } from './deps';
import { createStripeClient } from './stripe';

/** The payment services' dependencies from validated configuration (API and worker alike). */
export function paymentsFromConfig(config: BaseConfig): PaymentsDeps {
  return {
    stripe: createStripeClient({ secretKey: config.STRIPE_SECRET_KEY, apiBase: config.STRIPE_API_BASE }),
    stripeWebhookSecret: config.STRIPE_WEBHOOK_SECRET,
    publicBaseUrl: config.PUBLIC_BASE_URL.replace(/\/$/, ''),
    orderExpirySeconds: config.ORDER_EXPIRY_SECONDS,
  };
}
