/**
 * Invoices and credit notes on the real stack (PostgreSQL, Temporal, the order workflow, stripe-mock,
 * the gateway simulator): one invoice per paid order whose total equals the payment for each channel
 * and currency (with a coupon and tax), gapless numbers under 50 concurrent payments and after a
 * rolled-back issue, credit notes that never exceed their invoice under concurrent refunds, append-only
 * documents, PDFs read back with pdftotext (CJK included), and no reading another user's documents.
 */
// Before any module reads it: a rate for the buyers' countries (modules/invoices/config.ts reads the environment once).
process.env.TAX_RATES = 'DE:1900,JP:1000';

import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startGatewaySimulator, type GatewaySimulator } from '../scripts/services/gateway-simulator';
import { findDebianTool } from '../scripts/services/debian-tools';
import { buyablePackage, createGatewayChannel, placeOrder, postStripeEvent, sessionEvent, waitForOrder } from './support/orders';
import { createCoupon, createSeller, manualChannel, markPaid, order, setPrices } from './support/commerce';
import { expectStatus } from './support/fixtures';
import { ADMIN_KEY, newUserId, startStack, type TestStack } from './support/stack';
import { waitFor } from './support/wait';
import { recordPayment } from '../modules/orders';
import { issueCreditNote, issueInvoice } from '../modules/invoices';
import { BillingError } from '../platform/errors';
import { relayOnce } from '../modules/events/relay';
import { startSmtpSink, type SmtpSink } from '../scripts/services/smtp-sink';

let stack: TestStack;
let sink: SmtpSink;
let simulator: GatewaySimulator;
let manual: string;
const gateway = `sim-${randomUUID().slice(0, 8)}`;
const pdftotext = findDebianTool('pdftotext');

beforeAll(async () => {
  sink = await startSmtpSink();
  process.env.SMTP_URL = `smtp://127.0.0.1:${sink.port}`; // read by the worker's activities at start
  stack = await startStack();
  manual = await manualChannel(stack, ['USD', 'EUR', 'JPY']);
  simulator = await startGatewaySimulator({ merchantId: 'inv-merchant', secret: 'test-gateway-secret-0123456789' });
  await createGatewayChannel(stack, { code: gateway, name: 'Simulated gateway', gatewayUrl: simulator.url, merchantId: 'inv-merchant', secret: 'test-gateway-secret-0123456789' });
});
afterAll(async () => {
  await simulator?.close();
  await stack?.close();
  await sink?.stop();
});

const invoiceOf = (orderId: string) => waitFor(() => stack.db.invoice.findUnique({ where: { orderId } }), 60_000, `the invoice of ${orderId}`);

async function myInvoices(userId: string) {
  return expectStatus(await stack.call('GET', '/v1/me/invoices', { as: { user: userId } }), 200, 'my invoices').items;
}

async function setBilling(userId: string, body: Record<string, unknown>) {
  return expectStatus(await stack.call('PUT', '/v1/me/billing-details', { as: { user: userId }, body, idempotencyKey: null }), 200, 'billing details');
}

/** Every number of the series exactly once, 1..n: no gap, no repeat. */
async function expectGapless(series: string) {
  const rows = await stack.db.invoice.findMany({ where: { series }, select: { sequence: true, number: true }, orderBy: { sequence: 'asc' } });
  expect(rows.map((row) => row.sequence)).toEqual(rows.map((_, index) => index + 1));
  expect(new Set(rows.map((row) => row.number)).size).toBe(rows.length);
  const counter = await stack.db.documentNumberCounter.findUnique({ where: { series: `invoice:${series}` } });
  expect(counter?.lastNumber).toBe(rows.length);
}

const seriesNow = () => `DB-${new Date().getUTCFullYear()}`;

describe('an invoice per paid order, its total equal to the payment', () => {
  it('stripe (stripe-mock), USD, no billing details: the user id is the buyer, no tax, an invoice.issued event', async () => {
    const userId = newUserId('inv-stripe');
    const pkg = await buyablePackage(stack, { priceMinor: 1999 });
    const placed = await placeOrder(stack, userId, pkg.code, 'stripe');
    expectStatus(await postStripeEvent(stack, sessionEvent('checkout.session.completed', placed)), 200, 'stripe event');
    await waitForOrder(stack, placed.id, ['completed']);
    const payment = await stack.db.orderPayment.findUniqueOrThrow({ where: { orderId: placed.id } });
    const [invoice] = await myInvoices(userId);
    expect(invoice).toMatchObject({ orderId: placed.id, currency: 'USD', totalMinor: payment.amountMinor, taxMinor: 0, netMinor: 1999, status: 'issued', paymentSource: 'stripe', paymentReference: payment.externalId });
    expect(invoice.number).toMatch(/^DB-\d{4}-\d{6}$/);
    expect(invoice.buyer).toMatchObject({ userId, name: userId });
    const event = await stack.db.event.findFirstOrThrow({ where: { type: 'invoice.issued', userId } });
    expect(event.payload).toMatchObject({ invoiceId: invoice.id, number: invoice.number, orderId: placed.id, totalMinor: 1999 });
  });

  it('gateway, USD', async () => {
    const userId = newUserId('inv-gw');
    const pkg = await buyablePackage(stack, { priceMinor: 1500 });
    const placed = await placeOrder(stack, userId, pkg.code, gateway);
    const paid = (await (await fetch(placed.paymentUrl)).json()) as { callbackStatus: number };
    expect(paid.callbackStatus).toBe(200);
    await waitForOrder(stack, placed.id, ['completed']);
    const payment = await stack.db.orderPayment.findUniqueOrThrow({ where: { orderId: placed.id } });
    const invoice = await invoiceOf(placed.id);
    expect([invoice.totalMinor, invoice.currency, invoice.paymentSource]).toEqual([payment.amountMinor, 'USD', 'gateway']);
  });

  it('manual, EUR with a coupon and 19 % German tax; JPY at 10 % with a CJK name', async () => {
    const pkg = await buyablePackage(stack, { priceMinor: 999, currency: 'USD' });
    await setPrices(stack, pkg.id, [
      { currency: 'EUR', amountMinor: 999 },
      { currency: 'JPY', amountMinor: 1980 },
    ]);
    const coupon = await createCoupon(stack, { percentBasisPoints: 2000 });

    const german = newUserId('inv-de');
    await setBilling(german, { name: 'Erika Mustermann', address: 'Unter den Linden 1, Berlin', country: 'DE', taxId: 'DE123456789' });
    const eur = expectStatus(await order(stack, german, { packageCode: pkg.code, channel: manual, currency: 'EUR', couponCode: coupon.code }), 201, 'EUR order');
    await markPaid(stack, eur.id);
    await waitForOrder(stack, eur.id, ['completed']);
    const eurInvoice = await invoiceOf(eur.id);
    const eurPayment = await stack.db.orderPayment.findUniqueOrThrow({ where: { orderId: eur.id } });
    // 999 − 20 % (199) = 800 charged; tax 800 × 19/119 = 127.73 -> 128.
    expect(eurPayment.amountMinor).toBe(800);
    expect(eurInvoice).toMatchObject({ currency: 'EUR', totalMinor: 800, taxMinor: 128, netMinor: 672 });
    expect(eurInvoice.lines).toEqual([expect.objectContaining({ listPriceMinor: 999, discountMinor: 199, couponCode: coupon.code, grossMinor: 800, rateBasisPoints: 1900 })]);

    const japanese = newUserId('inv-jp');
    await setBilling(japanese, { name: '山田太郎', address: '東京都千代田区1-1', country: 'JP' });
    const jpy = expectStatus(await order(stack, japanese, { packageCode: pkg.code, channel: manual, currency: 'JPY' }), 201, 'JPY order');
    await markPaid(stack, jpy.id);
    await waitForOrder(stack, jpy.id, ['completed']);
    const jpyInvoice = await invoiceOf(jpy.id);
    // 1980 × 10/110 = 180 exactly.
    expect(jpyInvoice).toMatchObject({ currency: 'JPY', totalMinor: 1980, taxMinor: 180, netMinor: 1800 });
    expect(jpyInvoice.buyer).toMatchObject({ name: '山田太郎', country: 'JP' });
  });
});

describe('numbering', () => {
  it('50 concurrent payments get 50 distinct numbers with no gap in the series', async () => {
    const pkg = await buyablePackage(stack, { priceMinor: 700 });
    const placed = await Promise.all(
      Array.from({ length: 50 }, async () => expectStatus(await order(stack, newUserId('inv-race'), { packageCode: pkg.code, channel: manual }), 201, 'order')),
    );
    // The orders module's own payment transaction, as the workflow's activity calls it, 50 at once.
    await Promise.all(
      placed.map((p) => recordPayment(stack.db, p.id, { source: 'manual', externalId: `race-${p.id}`, amountMinor: 700, currency: 'USD', actor: 'test' })),
    );
    const invoices = await stack.db.invoice.findMany({ where: { orderId: { in: placed.map((p) => p.id) } } });
    expect(invoices).toHaveLength(50);
    expect(new Set(invoices.map((invoice) => invoice.number)).size).toBe(50);
    await expectGapless(seriesNow());
  });

  it('a rolled-back payment gives its number back: the next invoice takes it', async () => {
    const pkg = await buyablePackage(stack, { priceMinor: 900 });
    const userId = newUserId('inv-rollback');
    const placed = expectStatus(await order(stack, userId, { packageCode: pkg.code, channel: manual }), 201, 'order');
    const payment = { source: 'manual' as const, externalId: `rb-${placed.id}`, amountMinor: 900, currency: 'USD' };
    let taken = '';
    await expect(
      stack.db.$transaction(async (tx) => {
        const id = await issueInvoice(tx, placed.id, payment);
        taken = (await tx.invoice.findUniqueOrThrow({ where: { id } })).number;
        throw new Error('the payment failed after the invoice was issued');
      }),
    ).rejects.toThrow('the payment failed');
    expect(await stack.db.invoice.count({ where: { orderId: placed.id } })).toBe(0);
    await recordPayment(stack.db, placed.id, { ...payment, actor: 'test' });
    const invoice = await invoiceOf(placed.id);
    // The number the rolled-back issue took is in use again (by this invoice, or by one another test issued meanwhile).
    expect(await stack.db.invoice.count({ where: { number: taken } })).toBe(1);
    expect(invoice.number >= taken).toBe(true);
    await expectGapless(seriesNow());
  });

  it('an issued invoice cannot be changed or deleted', async () => {
    const any = await stack.db.invoice.findFirstOrThrow();
    await expect(stack.db.invoice.update({ where: { id: any.id }, data: { totalMinor: 1 } })).rejects.toThrow();
    await expect(stack.db.$executeRaw`DELETE FROM invoices WHERE id = ${any.id}::uuid`).rejects.toThrow();
  });
});

describe('credit notes', () => {
  it('a refund issues a credit note against the invoice; the user reads it, another user does not', async () => {
    const userId = newUserId('inv-refund');
    await setBilling(userId, { name: '王小明', country: 'DE' });
    const pkg = await buyablePackage(stack, { priceMinor: 1190, name: 'Pro 月度套餐' });
    const placed = expectStatus(await order(stack, userId, { packageCode: pkg.code, channel: manual }), 201, 'order');
    await markPaid(stack, placed.id);
    await waitForOrder(stack, placed.id, ['completed']);
    const invoice = await invoiceOf(placed.id);
    const refund = expectStatus(await stack.call('POST', `/v1/admin/orders/${placed.id}/refund`, { as: 'admin', body: { amountMinor: 595, reason: 'half back' } }), 202, 'refund');
    await waitFor(async () => (await stack.db.orderRefund.findUniqueOrThrow({ where: { id: refund.id } })).status === 'succeeded', 60_000, 'the refund to succeed');
    const notes = expectStatus(await stack.call('GET', '/v1/me/credit-notes', { as: { user: userId } }), 200, 'credit notes').items;
    expect(notes).toEqual([expect.objectContaining({ invoiceId: invoice.id, invoiceNumber: invoice.number, refundId: refund.id, amountMinor: 595, taxMinor: 95, currency: 'USD' })]);
    expect(notes[0].number).toMatch(/^CN-\d{4}-\d{6}$/);
    const mine = expectStatus(await stack.call('GET', `/v1/me/invoices/${invoice.id}`, { as: { user: userId } }), 200, 'invoice');
    expect([mine.status, mine.creditedMinor]).toEqual(['partially_credited', 595]);
    expect(await stack.db.event.count({ where: { type: 'credit_note.issued', userId } })).toBe(1);

    const stranger = { user: newUserId('inv-stranger') };
    for (const url of [`/v1/me/invoices/${invoice.id}`, `/v1/me/invoices/${invoice.id}/pdf`, `/v1/me/credit-notes/${notes[0].id}`, `/v1/me/credit-notes/${notes[0].id}/pdf`]) {
      const answer = await stack.call('GET', url, { as: stranger });
      expect([url, answer.status, answer.body.error?.code]).toEqual([url, 404, 'NOT_FOUND']);
    }
    expect(await myInvoices(stranger.user)).toEqual([]);

    const partial = expectStatus(await stack.call('GET', `/v1/admin/invoices?status=partially_credited&currency=USD&userId=${userId}`, { as: 'admin' }), 200, 'admin list');
    expect(partial.items.map((item: { id: string }) => item.id)).toEqual([invoice.id]);
    const issuedOnly = expectStatus(await stack.call('GET', `/v1/admin/invoices?status=issued&userId=${userId}`, { as: 'admin' }), 200, 'admin list');
    expect(issuedOnly.items).toEqual([]);
  });

  it('concurrent credit notes never add up to more than the invoice (checked under the invoice lock)', async () => {
    const pkg = await buyablePackage(stack, { priceMinor: 1000 });
    const placed = expectStatus(await order(stack, newUserId('inv-credit-race'), { packageCode: pkg.code, channel: manual }), 201, 'order');
    await recordPayment(stack.db, placed.id, { source: 'manual', externalId: `cr-${placed.id}`, amountMinor: 1000, currency: 'USD', actor: 'test' });
    const invoice = await invoiceOf(placed.id);
    const attempts = await Promise.allSettled(
      Array.from({ length: 8 }, () => stack.db.$transaction((tx) => issueCreditNote(tx, { orderId: placed.id, refundId: randomUUID(), amountMinor: 300, reason: 'race' }))),
    );
    const issued = attempts.filter((a) => a.status === 'fulfilled');
    const refused = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
    expect(issued).toHaveLength(3);
    for (const r of refused) expect(r.reason).toBeInstanceOf(BillingError);
    expect(refused.map((r) => (r.reason as BillingError).code)).toEqual(Array(5).fill('REFUND_EXCEEDS_PAYMENT'));
    const sum = await stack.db.creditNote.aggregate({ where: { invoiceId: invoice.id }, _sum: { amountMinor: true } });
    expect(sum._sum.amountMinor).toBe(900);
  });

  it("partial credit notes of a tax-inclusive invoice add up to its net and its tax exactly, to the cent", async () => {
    // 1,000 at 19 % inclusive: tax 160, net 840. Split at the rate one by one, 333 + 333 + 334 would credit
    // 53 + 53 + 53 = 159 of tax and 841 of net: a cent more net than the invoice has.
    const userId = newUserId('inv-incl-split');
    await setBilling(userId, { name: 'Max Muster', address: 'Berlin', country: 'DE' });
    const pkg = await buyablePackage(stack, { priceMinor: 1000 });
    const placed = expectStatus(await order(stack, userId, { packageCode: pkg.code, channel: manual }), 201, 'order');
    await recordPayment(stack.db, placed.id, { source: 'manual', externalId: `split-${placed.id}`, amountMinor: 1000, currency: 'USD', actor: 'test' });
    const invoice = await invoiceOf(placed.id);
    expect([invoice.totalMinor, invoice.taxMinor]).toEqual([1000, 160]);
    for (const amountMinor of [333, 333, 334]) {
      await stack.db.$transaction((tx) => issueCreditNote(tx, { orderId: placed.id, refundId: randomUUID(), amountMinor, reason: 'split' }));
    }
    const sum = await stack.db.creditNote.aggregate({ where: { invoiceId: invoice.id }, _sum: { amountMinor: true, taxMinor: true } });
    expect([sum._sum.amountMinor, sum._sum.taxMinor]).toEqual([1000, 160]);
  });
});

describe('PDF and CSV', () => {
  const itWithPdftotext = pdftotext || process.env.CI ? it : it.skip;

  itWithPdftotext('the PDF shows number, parties, lines and totals, CJK included, and is the same bytes each time', async () => {
    if (!pdftotext) throw new Error('pdftotext not found: `npm run setup` installs it (Debian package `poppler-utils`).');
    const userId = newUserId('inv-pdf');
    await setBilling(userId, { name: '王小明', address: '上海市浦东新区', country: 'JP', taxId: 'T1234567890123' });
    const pkg = await buyablePackage(stack, { priceMinor: 999, currency: 'USD', name: 'Pro monthly' });
    await setPrices(stack, pkg.id, [{ currency: 'JPY', amountMinor: 2200 }]);
    const placed = expectStatus(await order(stack, userId, { packageCode: pkg.code, channel: manual, currency: 'JPY' }), 201, 'order');
    await markPaid(stack, placed.id);
    await waitForOrder(stack, placed.id, ['completed']);
    const invoice = await invoiceOf(placed.id);
    const fetchPdf = async () => {
      const response = await fetch(`${stack.baseUrl}/v1/admin/invoices/${invoice.id}/pdf`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      expect([response.status, response.headers.get('content-type')]).toEqual([200, 'application/pdf']);
      return Buffer.from(await response.arrayBuffer());
    };
    const first = await fetchPdf();
    expect((await fetchPdf()).equals(first)).toBe(true);
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'invoice-pdf-')), 'invoice.pdf');
    writeFileSync(file, first);
    const text = execFileSync(pdftotext!, ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
    for (const expected of [invoice.number, 'Durable Billing', '王小明', '上海市浦东新区', 'T1234567890123', 'Pro monthly', pkg.code, '¥2,200', '¥200', '10 %', 'Paid via manual']) {
      expect(text).toContain(expected);
    }
  });

  it('the admin CSV lists the invoices of the filter', async () => {
    const response = await fetch(`${stack.baseUrl}/v1/admin/invoices/export.csv?currency=JPY`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(response.status).toBe(200);
    const csv = await response.text();
    const [header, ...rows] = csv.trim().split('\r\n');
    expect(header).toBe('number,issued_at,status,order_id,user_id,buyer_name,buyer_country,seller,currency,net_minor,tax_minor,total_minor,credited_minor,payment_source,payment_reference');
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.split(',')[8]).toBe('JPY');
  });
});

describe('seller statements', () => {
  it("a seller's month: its invoices and credit notes, CSV rows and a PDF with totals per currency", async () => {
    const pkg = await buyablePackage(stack, { priceMinor: 2000 });
    const seller = await createSeller(stack, { name: '李老师的课程', packageCodes: [pkg.code] });
    const placed = expectStatus(await order(stack, newUserId('inv-seller'), { packageCode: pkg.code, channel: manual }), 201, 'order');
    await markPaid(stack, placed.id);
    await waitForOrder(stack, placed.id, ['completed']);
    const invoice = await invoiceOf(placed.id);
    expect(invoice.seller).toMatchObject({ name: '李老师的课程', code: seller.code });
    const refund = expectStatus(await stack.call('POST', `/v1/admin/orders/${placed.id}/refund`, { as: 'admin', body: { amountMinor: 500, reason: 'partial' } }), 202, 'refund');
    await waitFor(async () => (await stack.db.creditNote.findUnique({ where: { refundId: refund.id } })) !== null, 60_000, 'the credit note');
    const month = invoice.issuedAt.toISOString().slice(0, 7);
    const csv = await (await fetch(`${stack.baseUrl}/v1/admin/sellers/${seller.id}/statements/${month}/csv`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).text();
    const rows = csv.trim().split('\r\n').slice(1).map((line) => line.split(','));
    expect(rows.map((row) => [row[0], row[5 + 2]])).toEqual([
      ['invoice', '2000'],
      ['credit_note', '-500'],
    ]);
    const pdf = await fetch(`${stack.baseUrl}/v1/admin/sellers/${seller.id}/statements/${month}/pdf`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect([pdf.status, pdf.headers.get('content-type')]).toEqual([200, 'application/pdf']);
    if (pdftotext) {
      const file = path.join(mkdtempSync(path.join(tmpdir(), 'statement-pdf-')), 'statement.pdf');
      writeFileSync(file, Buffer.from(await pdf.arrayBuffer()));
      const text = execFileSync(pdftotext, ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
      for (const expected of ['李老师的课程', invoice.number, 'invoiced $20.00', 'credited $5.00']) expect(text).toContain(expected);
    }
    const unknown = await stack.call('GET', `/v1/admin/sellers/${randomUUID()}/statements/${month}/csv`, { as: 'admin' });
    expect(unknown.status).toBe(404);
  });
});

describe('the payment receipt', () => {
  it("carries the order's invoice as a PDF attachment", async () => {
    const userId = newUserId('inv-mail');
    const email = `${userId}@example.test`;
    expectStatus(await stack.call('PUT', '/v1/me/notification-settings', { as: { user: userId }, body: { email, emailOptOut: [] }, idempotencyKey: null }), 200, 'settings');
    const pkg = await buyablePackage(stack, { priceMinor: 1200 });
    const placed = expectStatus(await order(stack, userId, { packageCode: pkg.code, channel: manual }), 201, 'order');
    await markPaid(stack, placed.id);
    await waitForOrder(stack, placed.id, ['completed']);
    const invoice = await invoiceOf(placed.id);
    const relay = {
      db: stack.db,
      temporal: stack.temporal,
      taskQueue: stack.taskQueue,
      config: { EVENTS_RELAY_BATCH_SIZE: 1000, EVENTS_RELAY_INTERVAL_MS: 100, WEBHOOK_RETRY_SCHEDULE_MS: [0] },
      // Other test files share the database: this relay hands over only this user's events.
      only: { userId: { equals: userId } },
    };
    await relayOnce(relay);
    const receipt = await waitFor(() => sink.mails.find((m) => m.to === email && m.subject === 'Payment received'), 60_000, 'the receipt');
    expect(receipt.attachments.map((a) => [a.filename, a.contentType])).toEqual([[`${invoice.number}.pdf`, 'application/pdf']]);
    expect(receipt.attachments[0]!.content.subarray(0, 5).toString()).toBe('%PDF-');
  });
});
