/**
 * Invoice and credit note PDFs (pdfkit). Deterministic: the document's dates are the issue time and
 * pdfkit derives the file ID from them, so one document always renders the same bytes and nothing
 * needs storing. Every text is set in Noto Sans SC (SIL Open Font License, from the npm package
 * @expo-google-fonts/noto-sans-sc): it covers Latin and CJK, so a buyer's name in Chinese or Japanese
 * renders; pdfkit embeds only the glyphs used. Amounts go through formatMinor (JPY has no minor unit).
 */
import { readFileSync } from 'node:fs';
import PDFDocument from 'pdfkit';
import { formatMinor } from '../../platform/currencies';
import type { CreditNoteView, InvoiceView, Party } from './views';

const FONT_REGULAR = '@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf';
const FONT_BOLD = '@expo-google-fonts/noto-sans-sc/700Bold/NotoSansSC_700Bold.ttf';

let fonts: { regular: Buffer; bold: Buffer } | undefined;

/** Read once per process (the files are ~10 MB each). */
function loadFonts(): { regular: Buffer; bold: Buffer } {
  fonts ??= { regular: readFileSync(require.resolve(FONT_REGULAR)), bold: readFileSync(require.resolve(FONT_BOLD)) };
  return fonts;
}

export function newDocument(title: string, issuedAt: Date): PDFKit.PDFDocument {
  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    info: { Title: title, Producer: 'durable-billing', Creator: 'durable-billing', CreationDate: issuedAt, ModDate: issuedAt },
  });
  const { regular, bold } = loadFonts();
  doc.registerFont('regular', regular);
  doc.registerFont('bold', bold);
  doc.font('regular');
  return doc;
}

export function toBuffer(doc: PDFKit.PDFDocument): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    doc.end();
  });
}

function partyBlock(doc: PDFKit.PDFDocument, heading: string, party: Party): void {
  doc.font('bold').fontSize(10).text(heading);
  doc.font('regular').fontSize(10).text(party.name);
  if (party.address) doc.text(party.address);
  if (party.country) doc.text(party.country);
  if (party.taxId) doc.text(`Tax ID: ${party.taxId}`);
  doc.moveDown();
}

function percent(basisPoints: number): string {
  return `${(basisPoints / 100).toFixed(2).replace(/\.?0+$/, '')} %`;
}

export async function renderInvoicePdf(invoice: InvoiceView): Promise<Buffer> {
  const doc = newDocument(`Invoice ${invoice.number}`, new Date(invoice.issuedAt));
  const money = (minor: number) => formatMinor(minor, invoice.currency);
  doc.font('bold').fontSize(18).text(`Invoice ${invoice.number}`);
  doc.font('regular').fontSize(10).text(`Issued: ${invoice.issuedAt.slice(0, 10)}`).text(`Order: ${invoice.orderId}`).moveDown();
  partyBlock(doc, 'Seller', invoice.seller);
  partyBlock(doc, 'Platform', invoice.platform);
  partyBlock(doc, 'Bill to', invoice.buyer);
  doc.font('bold').text('Items');
  doc.font('regular');
  for (const line of invoice.lines) {
    doc.text(`${line.quantity} × ${line.description} (${line.packageCode})`);
    doc.text(`  List price: ${money(line.listPriceMinor)}`);
    if (line.discountMinor > 0) doc.text(`  Coupon ${line.couponCode ?? ''}: -${money(line.discountMinor)}`);
    doc.text(`  Net: ${money(line.netMinor)}   Tax ${percent(line.rateBasisPoints)}: ${money(line.taxMinor)}   Amount: ${money(line.grossMinor)}`);
  }
  doc.moveDown();
  doc.text(`Net total: ${money(invoice.netMinor)}`);
  doc.text(`Tax total: ${money(invoice.taxMinor)}`);
  doc.font('bold').text(`Total: ${money(invoice.totalMinor)}`);
  doc.font('regular').text(`Prices ${invoice.taxMode === 'inclusive' ? 'include' : 'exclude'} tax.`);
  doc.text(`Paid via ${invoice.paymentSource}, reference ${invoice.paymentReference}`);
  return toBuffer(doc);
}

export async function renderCreditNotePdf(note: CreditNoteView, invoice: InvoiceView): Promise<Buffer> {
  const doc = newDocument(`Credit note ${note.number}`, new Date(note.issuedAt));
  const money = (minor: number) => formatMinor(minor, note.currency);
  doc.font('bold').fontSize(18).text(`Credit note ${note.number}`);
  doc.font('regular').fontSize(10).text(`Issued: ${note.issuedAt.slice(0, 10)}`).text(`Against invoice: ${invoice.number}`).moveDown();
  partyBlock(doc, 'Seller', invoice.seller);
  partyBlock(doc, 'Platform', invoice.platform);
  partyBlock(doc, 'Bill to', invoice.buyer);
  doc.text(`Reason: ${note.reason}`).moveDown();
  doc.text(`Net: ${money(-note.netMinor)}`);
  doc.text(`Tax ${percent(note.taxRateBasisPoints)}: ${money(-note.taxMinor)}`);
  doc.font('bold').text(`Total credited: ${money(-note.amountMinor)}`);
  return toBuffer(doc);
}
