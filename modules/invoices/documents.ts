/**
 * Issuing invoices and credit notes, always inside the caller's transaction (the one that records the
 * payment or settles the refund), so a document exists if and only if the money movement committed.
 * Both are append-only once written (triggers in the migration reject UPDATE and DELETE).
 */
import { randomUUID } from 'node:crypto';
import type { Order, Prisma } from '../../generated/prisma/client';
import type { Tx } from '../../platform/database';
import { BillingError } from '../../platform/errors';
import { formatMinor } from '../../platform/currencies';
import { recordEvent } from '../../platform/outbox/record';
import { invoicesConfig, type InvoicesConfig } from './config';
import { allocateNumber } from './numbering';
import { creditNoteTax, lineOfOrderTax, rateForCountry, taxLine, totalsOf, type TaxedLine, type TaxMode } from './rules/tax';
import type { InvoiceLine, Party } from './views';

export interface PaymentForInvoice {
  source: string;
  externalId: string;
  amountMinor: number;
  currency: string;
}

async function buyerOf(tx: Tx, userId: string): Promise<Party> {
  const details = await tx.billingDetails.findUnique({ where: { userId } });
  return {
    userId,
    name: details?.name ?? userId,
    address: details?.address ?? '',
    country: details?.country ?? null,
    taxId: details?.taxId ?? null,
  };
}

/** The package's seller, or the platform itself when the package has none. */
async function sellerOf(tx: Tx, packageId: string, config: InvoicesConfig): Promise<{ sellerId: string | null; party: Party }> {
  const owner = await tx.sellerPackage.findUnique({ where: { packageId } });
  const seller = owner ? await tx.seller.findUnique({ where: { id: owner.sellerId } }) : null;
  if (!seller) return { sellerId: null, party: { name: config.platform.name, address: config.platform.address, country: null, taxId: config.platform.taxId || null } };
  return { sellerId: seller.id, party: { name: seller.name, address: '', country: null, taxId: null, code: seller.code } };
}

/**
 * The tax of the order's one line. An order that fixed its tax at placement and was paid exactly its
 * total is invoiced as it was priced (its mode, rate and split), so the invoice, the charge and the
 * order agree. Otherwise (an order placed before tax was fixed, or a payment of another amount) the
 * payment is split at the buyer's rate now, in the configured mode.
 */
function invoiceLineTax(order: Order, payment: PaymentForInvoice, country: string | null, config: InvoicesConfig): { taxed: TaxedLine; taxMode: TaxMode } {
  if (order.taxMode !== null && order.taxRateBasisPoints !== null && order.subtotalMinor !== null && order.taxMinor !== null && payment.amountMinor === order.amountMinor && payment.currency === order.currency) {
    const taxMode = order.taxMode as TaxMode;
    const fixed = { mode: taxMode, rateBasisPoints: order.taxRateBasisPoints, subtotalMinor: order.subtotalMinor, taxMinor: order.taxMinor, totalMinor: order.amountMinor };
    return { taxed: lineOfOrderTax(fixed), taxMode };
  }
  const rate = rateForCountry(country, config.taxRates, config.defaultRateBasisPoints);
  return { taxed: taxLine(payment.amountMinor, rate, config.taxMode), taxMode: config.taxMode };
}

/**
 * Issues the invoice of a paid order (once: a second call answers the first invoice's id). The line's
 * gross is the payment, so the invoice total always equals what was charged.
 */
export async function issueInvoice(tx: Tx, orderId: string, payment: PaymentForInvoice, config: InvoicesConfig = invoicesConfig()): Promise<string> {
  const existing = await tx.invoice.findUnique({ where: { orderId }, select: { id: true } });
  if (existing) return existing.id;
  const order = await tx.order.findUniqueOrThrow({ where: { id: orderId } });
  const buyer = await buyerOf(tx, order.userId);
  const seller = await sellerOf(tx, order.packageId, config);
  const { taxed, taxMode } = invoiceLineTax(order, payment, buyer.country, config);
  const lines: InvoiceLine[] = [
    {
      description: order.packageName,
      packageCode: order.packageCode,
      quantity: 1,
      listPriceMinor: order.listAmountMinor ?? payment.amountMinor,
      discountMinor: order.discountMinor,
      couponCode: order.couponCode,
      ...taxed,
    },
  ];
  const totals = totalsOf([taxed]);
  const issuedAt = new Date();
  const allocated = await allocateNumber(tx, 'invoice', { prefix: config.invoicePrefix, perYear: config.perYear }, issuedAt);
  const id = randomUUID();
  await tx.invoice.create({
    data: {
      id,
      ...allocated,
      orderId,
      userId: order.userId,
      sellerId: seller.sellerId,
      seller: seller.party as Prisma.InputJsonValue,
      platform: { name: config.platform.name, address: config.platform.address, country: null, taxId: config.platform.taxId || null } as Prisma.InputJsonValue,
      buyer: buyer as Prisma.InputJsonValue,
      lines: lines as unknown as Prisma.InputJsonValue,
      taxMode,
      currency: payment.currency,
      ...totals,
      paymentSource: payment.source,
      paymentReference: payment.externalId,
      issuedAt,
    },
  });
  await recordEvent(tx, {
    type: 'invoice.issued',
    userId: order.userId,
    payload: { invoiceId: id, number: allocated.number, orderId, totalMinor: totals.totalMinor, taxMinor: totals.taxMinor, currency: payment.currency, issuedAt: issuedAt.toISOString() },
  });
  return id;
}

export interface RefundForCreditNote {
  orderId: string;
  refundId: string;
  amountMinor: number;
  reason: string;
}

/**
 * Issues the credit note of a settled refund against the order's invoice (once per refund). Its tax is
 * the invoice's tax prorated (rules/tax.ts creditNoteTax) in either tax mode, so the credit notes' tax and
 * net each add up to the invoice's once it is all credited, never beyond (splitting each refund at the
 * rate on its own could leave the sum a cent off after several partial refunds). The invoice row is locked first, so concurrent refunds are checked one after the other: the credit
 * notes of an invoice never add up to more than it. An order paid before invoicing began has no
 * invoice: nothing to credit (null).
 */
export async function issueCreditNote(tx: Tx, refund: RefundForCreditNote, config: InvoicesConfig = invoicesConfig()): Promise<string | null> {
  const [invoice] = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM invoices WHERE order_id = ${refund.orderId}::uuid FOR UPDATE`;
  if (!invoice) return null;
  const existing = await tx.creditNote.findUnique({ where: { refundId: refund.refundId }, select: { id: true } });
  if (existing) return existing.id;
  const full = await tx.invoice.findUniqueOrThrow({ where: { id: invoice.id } });
  const credited = await tx.creditNote.aggregate({ where: { invoiceId: full.id }, _sum: { amountMinor: true, taxMinor: true } });
  const creditable = full.totalMinor - (credited._sum.amountMinor ?? 0);
  if (refund.amountMinor <= 0 || refund.amountMinor > creditable) {
    throw new BillingError('REFUND_EXCEEDS_PAYMENT', `At most ${formatMinor(creditable, full.currency)} of invoice ${full.number} can still be credited.`, {
      invoiceId: full.id,
      creditable,
      requested: refund.amountMinor,
    });
  }
  const rate = (full.lines as unknown as InvoiceLine[])[0]?.rateBasisPoints ?? 0;
  const taxed = creditNoteTax({ grossMinor: full.totalMinor, taxMinor: full.taxMinor, creditedMinor: credited._sum.amountMinor ?? 0, creditedTaxMinor: credited._sum.taxMinor ?? 0 }, refund.amountMinor);
  const issuedAt = new Date();
  const allocated = await allocateNumber(tx, 'credit_note', { prefix: config.creditNotePrefix, perYear: config.perYear }, issuedAt);
  const id = randomUUID();
  await tx.creditNote.create({
    data: {
      id,
      ...allocated,
      invoiceId: full.id,
      refundId: refund.refundId,
      orderId: refund.orderId,
      userId: full.userId,
      currency: full.currency,
      taxRateBasisPoints: rate,
      netMinor: taxed.netMinor,
      taxMinor: taxed.taxMinor,
      amountMinor: refund.amountMinor,
      reason: refund.reason.slice(0, 1000),
      issuedAt,
    },
  });
  await recordEvent(tx, {
    type: 'credit_note.issued',
    userId: full.userId,
    payload: { creditNoteId: id, number: allocated.number, invoiceId: full.id, orderId: refund.orderId, amountMinor: refund.amountMinor, currency: full.currency, issuedAt: issuedAt.toISOString() },
  });
  return id;
}
