/**
 * The tax of an order, fixed when it is placed: the buyer's billing country then (no country: the
 * default rate) and the configured mode decide it once, and the order keeps it, so the charge, the
 * invoice and any refund agree even if the billing details or the rates change later.
 */
import type { Database, Tx } from '../../platform/database';
import { invoicesConfig, type InvoicesConfig } from './config';
import { orderTax, rateForCountry, type OrderTax } from './rules/tax';

export interface OrderTaxQuote extends OrderTax {
  /** The buyer's billing country the rate was taken for; null: none set, the default rate. */
  country: string | null;
}

/** What an order of `subtotalMinor` (price after the coupon) by `userId` charges, with its tax. Reads only. */
export async function quoteOrderTax(db: Database | Tx, userId: string, subtotalMinor: number, config: InvoicesConfig = invoicesConfig()): Promise<OrderTaxQuote> {
  const details = await db.billingDetails.findUnique({ where: { userId }, select: { country: true } });
  const country = details?.country ?? null;
  return { ...orderTax(subtotalMinor, rateForCountry(country, config.taxRates, config.defaultRateBasisPoints), config.taxMode), country };
}
