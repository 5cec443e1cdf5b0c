/**
 * Files a notice's email carries: the payment receipt (`order.paid`) carries the order's invoice as a
 * PDF, issued in the same transaction as the payment, so it exists by the time the mail goes out. An
 * order paid before invoicing began has none, and its receipt goes without.
 */
import type { Prisma } from '../../generated/prisma/client';
import type { Database } from '../../platform/database';
import { invoiceForOrder, renderInvoicePdf } from '../invoices';

export interface Attachment {
  filename: string;
  content: Buffer;
  contentType: string;
}

export async function attachmentsFor(db: Database, type: string, payload: Prisma.JsonValue | null): Promise<Attachment[]> {
  if (type !== 'order.paid' || !payload || typeof payload !== 'object' || Array.isArray(payload)) return [];
  const orderId = payload.orderId;
  if (typeof orderId !== 'string') return [];
  const invoice = await invoiceForOrder(db, orderId);
  if (!invoice) return [];
  return [{ filename: `${invoice.number}.pdf`, content: await renderInvoicePdf(invoice), contentType: 'application/pdf' }];
}
