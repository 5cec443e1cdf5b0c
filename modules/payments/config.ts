import { z } from '../../platform/zod';
import { envWholeNumber } from '../../platform/schemas';

/**
 * Payment settings from the environment (merged into modules/config.ts). Production needs only the
 * Stripe secret key and webhook secret; STRIPE_API_BASE points the SDK at stripe-mock in dev and tests.
 */
/**
 * The development default: a test-mode key stripe-mock accepts (it wants letters and digits after
 * `sk_test_`); production refuses it (modules/config.ts).
 */
export const DEV_STRIPE_SECRET_KEY = 'sk_test_devStripeMock';

export const paymentsConfigShape = {
  /** How long an unpaid order waits for its payment before it expires. */
  ORDER_EXPIRY_SECONDS: envWholeNumber({ min: 1, max: 30 * 86_400, default: 1800 }),
  STRIPE_SECRET_KEY: z.string().min(1).default(DEV_STRIPE_SECRET_KEY),
  STRIPE_WEBHOOK_SECRET: z.string().min(1).default('whsec_dev_change-me'),
  /** e.g. http://127.0.0.1:12111 for stripe-mock; unset = api.stripe.com. */
  STRIPE_API_BASE: z.url({ protocol: /^https?$/ }).optional(),
  /** This API's public address, for the gateway's notify URL and Checkout's return URLs. */
  PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:3000'),
};
