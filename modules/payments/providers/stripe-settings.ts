import { z } from '../../../platform/zod';

/** A Stripe channel's settings: where Stripe's pages send the payer back (the keys come from the environment). */
export const stripeSettings = z.strictObject({
  successUrl: z.url().optional(),
  cancelUrl: z.url().optional(),
});
