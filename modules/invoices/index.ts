/**
 * The public face of modules/invoices: what other modules, api/ and the tests may import.
 * Everything else in this folder is private to it (dependency-cruiser checks that, see .dependency-cruiser.cjs).
 * Workflow code imports modules/invoices/rules/ instead, never this file.
 */
export { invoicesConfigShape, invoicesConfig, parseInvoicesConfig } from './config';
export type { InvoicesConfig } from './config';
export { issueCreditNote, issueInvoice } from './documents';
export type { PaymentForInvoice, RefundForCreditNote } from './documents';
export { quoteOrderTax } from './order-tax';
export type { OrderTaxQuote } from './order-tax';
export { renderCreditNotePdf, renderInvoicePdf } from './pdf';
export { sellerStatement, sellerStatementCsv, sellerStatementPdf } from './statements';
export type { SellerStatement } from './statements';
export { exportInvoicesCsv, invoiceForOrder, getBillingDetails, getCreditNote, getInvoice, listCreditNotes, listInvoices, putBillingDetails } from './store';
export type { BillingDetailsInput, InvoiceFilter } from './store';
export { billingDetailsSchema, creditNoteSchema, invoiceSchema, invoiceStatusSchema } from './views';
export type { BillingDetailsView, CreditNoteView, InvoiceStatus, InvoiceView } from './views';
