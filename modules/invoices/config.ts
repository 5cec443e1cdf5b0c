/**
 * Configuration of invoices, validated by zod from the environment. modules/config.ts spreads the shape
 * into the base configuration so a bad value stops the API and the worker at start; `invoicesConfig()`
 * reads the same shape where a document is issued (inside the payment's or the refund's transaction).
 */
import { z } from 'zod';
import type { TaxMode } from './rules/tax';

const country = z.string().regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2 in upper case');
const basisPoints = z.number().int().min(0).max(100_000);

/** `DE:1900,FR:2000,JP:1000`: a rate in basis points per country. */
const rateTable = z
  .string()
  .regex(/^\s*([A-Z]{2}:\d{1,6}\s*(,\s*|$))*$/, 'comma-separated COUNTRY:BASIS_POINTS, e.g. DE:1900,JP:1000')
  .transform((value) =>
    Object.fromEntries(
      value
        .split(',')
        .map((pair) => pair.trim())
        .filter(Boolean)
        .map((pair) => {
          const [code, rate] = pair.split(':');
          return [country.parse(code), basisPoints.parse(Number(rate))];
        }),
    ),
  );

const prefix = z.string().regex(/^[A-Z0-9]{1,12}$/, '1-12 upper-case letters or digits');

export const invoicesConfigShape = {
  /** `inclusive` (default): prices include tax; `exclusive`: prices are net and tax is shown on top (modules/invoices/rules/tax.ts). */
  TAX_PRICES: z.enum(['inclusive', 'exclusive']).default('inclusive'),
  /** Tax rates by the buyer's billing country, basis points (1900 = 19 %). */
  TAX_RATES: rateTable.default({}),
  /** Rate when the buyer's country is not in TAX_RATES or unknown. */
  TAX_DEFAULT_RATE_BASIS_POINTS: z.coerce.number().int().min(0).max(100_000).default(0),
  INVOICE_NUMBER_PREFIX: prefix.default('DB'),
  CREDIT_NOTE_NUMBER_PREFIX: prefix.default('CN'),
  /** true (default): a series per calendar year (UTC), DB-2026-000123; false: one series, DB-000123. */
  INVOICE_SERIES_PER_YEAR: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
  /** The platform party printed on every invoice. */
  INVOICE_PLATFORM_NAME: z.string().min(1).max(200).default('Durable Billing'),
  INVOICE_PLATFORM_ADDRESS: z.string().max(500).default(''),
  INVOICE_PLATFORM_TAX_ID: z.string().max(50).default(''),
};

export interface InvoicesConfig {
  taxMode: TaxMode;
  taxRates: Record<string, number>;
  defaultRateBasisPoints: number;
  invoicePrefix: string;
  creditNotePrefix: string;
  perYear: boolean;
  platform: { name: string; address: string; taxId: string };
}

export function parseInvoicesConfig(env: NodeJS.ProcessEnv): InvoicesConfig {
  const parsed = z.object(invoicesConfigShape).parse(env);
  return {
    taxMode: parsed.TAX_PRICES,
    taxRates: parsed.TAX_RATES,
    defaultRateBasisPoints: parsed.TAX_DEFAULT_RATE_BASIS_POINTS,
    invoicePrefix: parsed.INVOICE_NUMBER_PREFIX,
    creditNotePrefix: parsed.CREDIT_NOTE_NUMBER_PREFIX,
    perYear: parsed.INVOICE_SERIES_PER_YEAR,
    platform: { name: parsed.INVOICE_PLATFORM_NAME, address: parsed.INVOICE_PLATFORM_ADDRESS, taxId: parsed.INVOICE_PLATFORM_TAX_ID },
  };
}

let loaded: InvoicesConfig | undefined;

/** The process's invoices configuration (read once; modules/config.ts has already validated it at start). */
export function invoicesConfig(): InvoicesConfig {
  loaded ??= parseInvoicesConfig(process.env);
  return loaded;
}
