/**
 * Manual payment: the money comes outside the system (a bank transfer, cash) and an operator confirms
 * it; a refund is paid out the same way. No session, no webhooks, no records to reconcile with.
 */
import { z } from '../../../platform/zod';
import type { PaymentProvider } from './provider';

export const manualProvider: PaymentProvider = {
  configSchema: z.strictObject({
    instructions: z.string().max(2000).optional(),
  }),
  secretFields: [],
  startPayment: async () => null,
  closePayment: async () => {},
  refund: async (_deps, _channel, _payment, _amountMinor, refundKey) => `manual-refund-${refundKey}`,
  listPayments: null,
  verifyWebhook: null,
  savedMethods: null,
};
