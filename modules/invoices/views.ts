/** JSON shapes of invoices, credit notes and billing details (zod schemas, types inferred). Views change only by adding fields. */
import { z } from '../../platform/zod';
import type { BillingDetails, CreditNote, Invoice } from '../../generated/prisma/client';

export const partySchema = z
  .object({
    userId: z.string().optional(),
    code: z.string().optional(),
    name: z.string(),
    address: z.string(),
    country: z.string().nullable(),
    taxId: z.string().nullable(),
  })
  .openapi('InvoiceParty');
export type Party = z.infer<typeof partySchema>;

export const invoiceLineSchema = z
  .object({
    description: z.string(),
    packageCode: z.string(),
    quantity: z.number().int(),
    listPriceMinor: z.number().int().openapi({ description: 'The catalog price before the coupon.' }),
    discountMinor: z.number().int().openapi({ description: "The coupon's discount (0 without one)." }),
    couponCode: z.string().nullable(),
    grossMinor: z.number().int().openapi({ description: 'What was charged for the line, tax included.' }),
    netMinor: z.number().int(),
    taxMinor: z.number().int(),
    rateBasisPoints: z.number().int().openapi({ description: 'Tax rate, basis points (1900 = 19 %).' }),
  })
  .openapi('InvoiceLine');
export type InvoiceLine = z.infer<typeof invoiceLineSchema>;

export const invoiceStatusSchema = z.enum(['issued', 'partially_credited', 'credited']).openapi('InvoiceStatus');
export type InvoiceStatus = z.infer<typeof invoiceStatusSchema>;

export const invoiceSchema = z
  .object({
    id: z.uuid(),
    number: z.string().openapi({ example: 'DB-2026-000123' }),
    orderId: z.uuid(),
    userId: z.string(),
    status: invoiceStatusSchema,
    issuedAt: z.string(),
    seller: partySchema,
    platform: partySchema,
    buyer: partySchema,
    lines: z.array(invoiceLineSchema),
    taxMode: z.enum(['inclusive', 'exclusive']),
    currency: z.string(),
    netMinor: z.number().int(),
    taxMinor: z.number().int(),
    totalMinor: z.number().int().openapi({ description: 'Equals the payment.' }),
    creditedMinor: z.number().int().openapi({ description: 'Sum of the credit notes against this invoice.' }),
    paymentSource: z.string(),
    paymentReference: z.string(),
  })
  .openapi('Invoice');
export type InvoiceView = z.infer<typeof invoiceSchema>;

export function statusOf(totalMinor: number, creditedMinor: number): InvoiceStatus {
  if (creditedMinor === 0) return 'issued';
  return creditedMinor >= totalMinor ? 'credited' : 'partially_credited';
}

export function invoiceView(invoice: Invoice, creditedMinor: number): InvoiceView {
  return {
    id: invoice.id,
    number: invoice.number,
    orderId: invoice.orderId,
    userId: invoice.userId,
    status: statusOf(invoice.totalMinor, creditedMinor),
    issuedAt: invoice.issuedAt.toISOString(),
    seller: invoice.seller as Party,
    platform: invoice.platform as Party,
    buyer: invoice.buyer as Party,
    lines: invoice.lines as unknown as InvoiceLine[],
    taxMode: invoice.taxMode as 'inclusive' | 'exclusive',
    currency: invoice.currency,
    netMinor: invoice.netMinor,
    taxMinor: invoice.taxMinor,
    totalMinor: invoice.totalMinor,
    creditedMinor,
    paymentSource: invoice.paymentSource,
    paymentReference: invoice.paymentReference,
  };
}

export const creditNoteSchema = z
  .object({
    id: z.uuid(),
    number: z.string().openapi({ example: 'CN-2026-000007' }),
    invoiceId: z.uuid(),
    invoiceNumber: z.string(),
    orderId: z.uuid(),
    refundId: z.uuid(),
    userId: z.string(),
    issuedAt: z.string(),
    currency: z.string(),
    netMinor: z.number().int(),
    taxMinor: z.number().int(),
    amountMinor: z.number().int().openapi({ description: 'The refunded amount, tax included.' }),
    taxRateBasisPoints: z.number().int(),
    reason: z.string(),
  })
  .openapi('CreditNote');
export type CreditNoteView = z.infer<typeof creditNoteSchema>;

export function creditNoteView(note: CreditNote & { invoice: { number: string } }): CreditNoteView {
  return {
    id: note.id,
    number: note.number,
    invoiceId: note.invoiceId,
    invoiceNumber: note.invoice.number,
    orderId: note.orderId,
    refundId: note.refundId,
    userId: note.userId,
    issuedAt: note.issuedAt.toISOString(),
    currency: note.currency,
    netMinor: note.netMinor,
    taxMinor: note.taxMinor,
    amountMinor: note.amountMinor,
    taxRateBasisPoints: note.taxRateBasisPoints,
    reason: note.reason,
  };
}

export const billingDetailsSchema = z
  .object({
    name: z.string().openapi({ example: '王小明' }),
    address: z.string(),
    country: z.string().nullable(),
    taxId: z.string().nullable(),
    updatedAt: z.string(),
  })
  .openapi('BillingDetails');
export type BillingDetailsView = z.infer<typeof billingDetailsSchema>;

export function billingDetailsView(details: BillingDetails): BillingDetailsView {
  return { name: details.name, address: details.address, country: details.country, taxId: details.taxId, updatedAt: details.updatedAt.toISOString() };
}
