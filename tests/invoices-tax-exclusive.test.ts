/**
 * Prices net of tax (TAX_PRICES=exclusive) on the real stack: an order fixes its subtotal, tax and total
 * at placement from the buyer's billing country, and every channel is asked for that total (the Stripe
 * Checkout Session's lines as stripe-mock received them, the gateway simulator's payment page, the
 * manual confirmation); the order, the payment and the invoice all equal price − discount + tax, in
 * USD, EUR and JPY, with and without a coupon. A later change of billing details leaves an open order's
 * amount alone; partial and full refunds issue credit notes whose tax adds up to the invoice's; a
 * top-up rule's monthly amount cap counts the tax, and a refill (the refill workflow, an off-session
 * gateway charge, the order workflow) charges and invoices the same total.
 */
// This file's own configuration, before any module reads it (modules/invoices/config.ts reads the environment once).
process.env.TAX_PRICES = 'exclusive';
process.env.TAX_RATES = 'DE:1900,JP:1000';
process.env.TAX_DEFAULT_RATE_BASIS_POINTS = '825';

import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGatewaySimulator, type GatewaySimulator } from '../scripts/services/gateway-simulator';
import { buyablePackage, postStripeEvent, sessionEvent, waitForOrder } from './support/orders';
import { createCoupon, manualChannel, markPaid, order, setPrices } from './support/commerce';
import { expectStatus } from './support/fixtures';
import { grantCredits, newUserId, startStack, type TestStack } from './support/stack';
import { waitFor } from './support/wait';
import type { Connection } from '@temporalio/client';
import { withSignature } from '../modules/payments/rules/gateway-signature';
import { ensureSearchAttributes } from '../worker/search-attributes';
import { OfferBook, claimRefill, monthlyUse, startRefillAfter } from '../modules/topups';
import type { topUpRefillWorkflow } from '../workflows/top-up-refill';
import { refillWorkflowId } from '../modules/topups/rules/caps';

const SECRET = 'test-gateway-secret-0123456789';

/** What the Checkout Sessions created through it asked stripe-mock for, by order id: the sum of the line items. */
interface StripeRecorder {
  url: string;
  sessions: Map<string, { lines: Array<{ name: string; unitAmount: number; quantity: number }>; currency: string }>;
  close(): Promise<void>;
}

/** A pass-through in front of stripe-mock that keeps each Checkout Session request's line items. */
async function startStripeRecorder(target: string): Promise<StripeRecorder> {
  const sessions: StripeRecorder['sessions'] = new Map();
  const server: Server = createServer((req, res) => {
    void (async () => {
      let body = '';
      for await (const chunk of req) body += chunk;
      if (req.method === 'POST' && req.url === '/v1/checkout/sessions') {
        const form = new URLSearchParams(body);
        const lines: Array<{ name: string; unitAmount: number; quantity: number }> = [];
        for (let index = 0; form.has(`line_items[${index}][quantity]`); index++) {
          lines.push({
            name: form.get(`line_items[${index}][price_data][product_data][name]`) ?? '',
            unitAmount: Number(form.get(`line_items[${index}][price_data][unit_amount]`)),
            quantity: Number(form.get(`line_items[${index}][quantity]`)),
          });
        }
        sessions.set(form.get('client_reference_id') ?? '', { lines, currency: form.get(`line_items[0][price_data][currency]`) ?? '' });
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !['host', 'content-length', 'connection'].includes(name))) as Record<string, string>;
      const answer = await fetch(`${target}${req.url}`, { method: req.method!, headers, ...(body ? { body } : {}) });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await answer.arrayBuffer()));
    })().catch((error: unknown) => res.writeHead(502).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sessions,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let stack: TestStack;
let recorder: StripeRecorder;
let simulator: GatewaySimulator;
let manual: string;
let stripe: string;
const gateway = `sim-tax-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  recorder = await startStripeRecorder(process.env.TEST_STRIPE_API_BASE!);
  process.env.TEST_STRIPE_API_BASE = recorder.url; // read by startStack for the API's and the worker's Stripe client
  stack = await startStack();
  await ensureSearchAttributes(stack.temporal.connection as Connection, 'default');
  manual = await manualChannel(stack, ['USD', 'EUR', 'JPY']);
  // The seeded Stripe channel takes USD and EUR; this one takes all three.
  stripe = `stripe-tax-${randomUUID().slice(0, 8)}`;
  expectStatus(await stack.call('POST', '/v1/admin/payment-channels', { as: 'admin', body: { code: stripe, kind: 'stripe', name: 'Card', currencies: ['USD', 'EUR', 'JPY'], config: {} } }), 201, 'stripe channel');
  simulator = await startGatewaySimulator({ merchantId: 'tax-merchant', secret: SECRET });
  const config = { gatewayUrl: simulator.url, merchantId: 'tax-merchant', secret: SECRET };
  expectStatus(await stack.call('POST', '/v1/admin/payment-channels', { as: 'admin', body: { code: gateway, kind: 'gateway', name: 'Gateway', currencies: ['USD', 'EUR', 'JPY'], config } }), 201, 'gateway channel');
});
afterAll(async () => {
  await simulator?.close();
  await stack?.close();
  await recorder?.close();
});

const invoiceOf = (orderId: string) => waitFor(() => stack.db.invoice.findUnique({ where: { orderId } }), 60_000, `the invoice of ${orderId}`);

async function setBilling(userId: string, body: Record<string, unknown>) {
  return expectStatus(await stack.call('PUT', '/v1/me/billing-details', { as: { user: userId }, body, idempotencyKey: null }), 200, 'billing details');
}

/** Pays the order through its channel and answers what the channel was asked to charge. */
async function payThrough(channel: 'stripe' | 'gateway' | 'manual', placed: { id: string; amountMinor: number; currency: string; paymentUrl: string | null }): Promise<number> {
  if (channel === 'stripe') {
    const session = recorder.sessions.get(placed.id);
    if (!session) throw new Error(`no Checkout Session was created for ${placed.id}`);
    expect(session.currency).toBe(placed.currency.toLowerCase());
    // Stripe charges the session's amount_total, the sum of its lines; the completed event says so.
    const asked = session.lines.reduce((sum, line) => sum + line.unitAmount * line.quantity, 0);
    expectStatus(await postStripeEvent(stack, sessionEvent('checkout.session.completed', { ...placed, amountMinor: asked })), 200, 'stripe event');
    return asked;
  }
  if (channel === 'gateway') {
    const asked = Number(new URL(placed.paymentUrl!).searchParams.get('amount'));
    const paid = (await (await fetch(placed.paymentUrl!)).json()) as { callbackStatus: number };
    expect(paid.callbackStatus).toBe(200);
    expect(simulator.trades.get(placed.id)?.amount).toBe(asked);
    return asked;
  }
  // A bank transfer: the buyer is told the order's amount and the operator confirms that amount.
  await markPaid(stack, placed.id);
  return placed.amountMinor;
}

interface Case {
  channel: 'stripe' | 'gateway' | 'manual';
  currency: 'USD' | 'EUR' | 'JPY';
  coupon: boolean;
  /** price − discount, the tax on it at the buyer's rate, and their sum. */
  subtotal: number;
  tax: number;
  total: number;
  rate: number;
  country: string | null;
}

// Prices: USD 19.99, EUR 9.99, ¥1,980; the coupon takes 20 % off (rounded down). Buyers: no country
// (USD, the default 8.25 %), DE (EUR, 19 %), JP (JPY, 10 %).
// USD 1999 × 8.25 % = 164.92 -> 165; 1600 × 8.25 % = 132. EUR 999 × 19 % = 189.81 -> 190; 800 -> 152.
// JPY 1980 × 10 % = 198; 1584 × 10 % = 158.4 -> 158 (whole yen).
const AMOUNTS: Record<string, Omit<Case, 'channel' | 'currency' | 'coupon'>> = {
  'USD-': { subtotal: 1999, tax: 165, total: 2164, rate: 825, country: null },
  'USD-coupon': { subtotal: 1600, tax: 132, total: 1732, rate: 825, country: null },
  'EUR-': { subtotal: 999, tax: 190, total: 1189, rate: 1900, country: 'DE' },
  'EUR-coupon': { subtotal: 800, tax: 152, total: 952, rate: 1900, country: 'DE' },
  'JPY-': { subtotal: 1980, tax: 198, total: 2178, rate: 1000, country: 'JP' },
  'JPY-coupon': { subtotal: 1584, tax: 158, total: 1742, rate: 1000, country: 'JP' },
};
const CASES: Case[] = (['stripe', 'gateway', 'manual'] as const).flatMap((channel) =>
  (['USD', 'EUR', 'JPY'] as const).flatMap((currency) => [false, true].map((coupon) => ({ channel, currency, coupon, ...AMOUNTS[`${currency}-${coupon ? 'coupon' : ''}`]! }))),
);

let pricedPackage: Promise<{ code: string; coupon: string }> | undefined;
function packageAndCoupon() {
  pricedPackage ??= (async () => {
    const pkg = await buyablePackage(stack, { priceMinor: 1999, currency: 'USD' });
    await setPrices(stack, pkg.id, [
      { currency: 'EUR', amountMinor: 999 },
      { currency: 'JPY', amountMinor: 1980 },
    ]);
    const coupon = await createCoupon(stack, { percentBasisPoints: 2000 });
    return { code: pkg.code as string, coupon: coupon.code as string };
  })();
  return pricedPackage;
}

describe('what is charged = price − discount + tax, fixed at placement, for every channel', () => {
  it.each(CASES)('$channel, $currency, coupon: $coupon -> $total', async (expected) => {
    const { code, coupon } = await packageAndCoupon();
    const userId = newUserId(`tax-${expected.channel}`);
    if (expected.country) await setBilling(userId, { name: 'Buyer', country: expected.country });
    const channel = { stripe, gateway, manual }[expected.channel];
    const placed = expectStatus(
      await order(stack, userId, { packageCode: code, channel, currency: expected.currency, ...(expected.coupon ? { couponCode: coupon } : {}) }),
      201,
      'order',
    );
    // The creation answer already says what will be charged.
    expect(placed).toMatchObject({
      currency: expected.currency,
      subtotalMinor: expected.subtotal,
      taxMinor: expected.tax,
      totalMinor: expected.total,
      amountMinor: expected.total,
      tax: { mode: 'exclusive', rateBasisPoints: expected.rate, country: expected.country },
    });

    const asked = await payThrough(expected.channel, placed);
    expect(asked).toBe(expected.total);
    await waitForOrder(stack, placed.id, ['completed']);

    const payment = await stack.db.orderPayment.findUniqueOrThrow({ where: { orderId: placed.id } });
    const invoice = await invoiceOf(placed.id);
    const read = expectStatus(await stack.call('GET', `/v1/me/orders/${placed.id}`, { as: { user: userId } }), 200, 'order');
    expect([payment.amountMinor, read.totalMinor, invoice.totalMinor]).toEqual([expected.total, expected.total, expected.total]);
    expect(invoice).toMatchObject({ taxMode: 'exclusive', currency: expected.currency, netMinor: expected.subtotal, taxMinor: expected.tax });
    expect(invoice.lines).toEqual([expect.objectContaining({ grossMinor: expected.total, netMinor: expected.subtotal, taxMinor: expected.tax, rateBasisPoints: expected.rate })]);
  });

  it('the coupon preview says the subtotal, the tax and the total an order placed now would charge', async () => {
    const { code, coupon } = await packageAndCoupon();
    const userId = newUserId('tax-preview');
    await setBilling(userId, { name: '山田', country: 'JP' });
    const preview = expectStatus(await stack.call('POST', '/v1/me/coupons/preview', { as: { user: userId }, body: { code: coupon, packageCode: code, currency: 'JPY' } }), 200, 'preview');
    expect(preview).toMatchObject({ applicable: true, listAmountMinor: 1980, discountMinor: 396, amountMinor: 1584, taxMinor: 158, totalMinor: 1742 });
  });

  it('an INSUFFICIENT_CREDITS offer shows what its order will charge, tax included, and the order charges that', async () => {
    const userId = newUserId('tax-offer');
    await setBilling(userId, { name: 'Erika', country: 'DE' });
    const { offers } = await new OfferBook(stack.db).shortfall(userId, 1, 0);
    expect(offers.length).toBeGreaterThan(0);
    for (const offer of offers) {
      const listed = await stack.db.billingPackage.findUniqueOrThrow({ where: { code: offer.packageCode } });
      const list = offer.currency === listed.currency ? listed.priceMinor : (await stack.db.packagePrice.findFirstOrThrow({ where: { packageId: listed.id, currency: offer.currency } })).amountMinor;
      expect(offer.taxMinor).toBe(Math.round((list * 1900) / 10_000));
      expect(offer.priceMinor).toBe(list + offer.taxMinor);
    }
    const [first] = offers;
    const placed = expectStatus(await stack.call('POST', first!.purchase.path, { body: { ...first!.purchase.body } }), 201, 'the offer\'s order');
    expect([placed.totalMinor, placed.taxMinor]).toEqual([first!.priceMinor, first!.taxMinor]);
  });

  it('Stripe gets the package at the subtotal and the tax as its own line', async () => {
    const { code } = await packageAndCoupon();
    const userId = newUserId('tax-stripe-lines');
    await setBilling(userId, { name: 'Erika', country: 'DE' });
    const placed = expectStatus(await order(stack, userId, { packageCode: code, channel: stripe, currency: 'EUR' }), 201, 'order');
    expect(recorder.sessions.get(placed.id)?.lines).toEqual([
      { name: placed.package.name, unitAmount: 999, quantity: 1 },
      { name: 'Tax 19 %', unitAmount: 190, quantity: 1 },
    ]);
  });
});

describe('limits', () => {
  it('a price whose tax would take the total past what an amount can hold is refused with a 422, not stored', async () => {
    const pkg = await buyablePackage(stack, { priceMinor: 2_147_483_000, currency: 'USD' });
    const userId = newUserId('tax-huge');
    const refused = await order(stack, userId, { packageCode: pkg.code, channel: manual, currency: 'USD' });
    expect([refused.status, refused.body.error?.code]).toEqual([422, 'PACKAGE_UNAVAILABLE']);
    expect(await stack.db.order.count({ where: { userId } })).toBe(0);
  });
});

describe('the buyer country is the one at placement', () => {
  it('a later change of billing details changes neither the open order nor its invoice; no country takes the default rate', async () => {
    const { code } = await packageAndCoupon();
    const userId = newUserId('tax-moved');
    await setBilling(userId, { name: 'Erika', country: 'DE' });
    const placed = expectStatus(await order(stack, userId, { packageCode: code, channel: manual, currency: 'EUR' }), 201, 'order');
    expect(placed).toMatchObject({ subtotalMinor: 999, taxMinor: 190, totalMinor: 1189 });

    await setBilling(userId, { name: 'Erika', country: 'JP' });
    // The same unpaid order comes back, at the amount it was placed with.
    const again = expectStatus(await order(stack, userId, { packageCode: code, channel: manual, currency: 'EUR' }), 201, 'order again');
    expect([again.id, again.totalMinor]).toEqual([placed.id, 1189]);
    await markPaid(stack, placed.id);
    await waitForOrder(stack, placed.id, ['completed']);
    expect(await invoiceOf(placed.id)).toMatchObject({ totalMinor: 1189, taxMinor: 190, netMinor: 999 });
    expect((await stack.db.orderPayment.findUniqueOrThrow({ where: { orderId: placed.id } })).amountMinor).toBe(1189);
  });
});

describe('refunds of a tax-exclusive order', () => {
  it('partial then full refund: credit notes prorate the tax, add up to the invoice exactly, and no more can be refunded', async () => {
    const { code, coupon } = await packageAndCoupon();
    const userId = newUserId('tax-refund');
    await setBilling(userId, { name: 'Erika', country: 'DE' });
    const placed = expectStatus(await order(stack, userId, { packageCode: code, channel: manual, currency: 'EUR', couponCode: coupon }), 201, 'order');
    expect(placed.totalMinor).toBe(952);
    await markPaid(stack, placed.id);
    await waitForOrder(stack, placed.id, ['completed']);
    const invoice = await invoiceOf(placed.id);

    const refund = async (amountMinor?: number) => {
      const opened = expectStatus(
        await stack.call('POST', `/v1/admin/orders/${placed.id}/refund`, { as: 'admin', body: { ...(amountMinor ? { amountMinor } : {}), reason: 'back' } }),
        202,
        'refund',
      );
      return waitFor(() => stack.db.creditNote.findUnique({ where: { refundId: opened.id } }), 60_000, 'the credit note');
    };
    // 333 of 952: tax 152 × 333 / 952 = 53.17 -> 53.
    expect(await refund(333)).toMatchObject({ invoiceId: invoice.id, amountMinor: 333, taxMinor: 53, netMinor: 280, taxRateBasisPoints: 1900 });
    await waitForOrder(stack, placed.id, ['partially_refunded']);
    // The rest (619, everything not yet refunded) takes the rest of the tax: 99, net 520.
    expect(await refund()).toMatchObject({ amountMinor: 619, taxMinor: 99, netMinor: 520 });
    await waitForOrder(stack, placed.id, ['refunded']);

    const sums = await stack.db.creditNote.aggregate({ where: { invoiceId: invoice.id }, _sum: { amountMinor: true, taxMinor: true, netMinor: true } });
    expect(sums._sum).toEqual({ amountMinor: 952, taxMinor: 152, netMinor: 800 });
    const mine = expectStatus(await stack.call('GET', `/v1/me/invoices/${invoice.id}`, { as: { user: userId } }), 200, 'invoice');
    expect([mine.status, mine.creditedMinor]).toEqual(['credited', 952]);
    const more = await stack.call('POST', `/v1/admin/orders/${placed.id}/refund`, { as: 'admin', body: { amountMinor: 1, reason: 'more' } });
    expect([more.status, more.body.error?.code]).toEqual([409, 'ORDER_STATE_CONFLICT']);
  });
});

describe('credit note tax', () => {
  it('is prorated, so two refunds of EUR 11.89 (tax 1.90) carry 1.90 of tax, where splitting each refund by the rate would carry 1.89', async () => {
    const { code } = await packageAndCoupon();
    const userId = newUserId('tax-refund-split');
    await setBilling(userId, { name: 'Erika', country: 'DE' });
    const placed = expectStatus(await order(stack, userId, { packageCode: code, channel: manual, currency: 'EUR' }), 201, 'order');
    await markPaid(stack, placed.id);
    await waitForOrder(stack, placed.id, ['completed']);
    const invoice = await invoiceOf(placed.id);
    expect(invoice).toMatchObject({ totalMinor: 1189, taxMinor: 190, netMinor: 999 });
    const creditNote = async (amountMinor?: number) => {
      const body = { ...(amountMinor ? { amountMinor } : {}), reason: 'back' };
      const opened = expectStatus(await stack.call('POST', `/v1/admin/orders/${placed.id}/refund`, { as: 'admin', body }), 202, 'refund');
      return waitFor(() => stack.db.creditNote.findUnique({ where: { refundId: opened.id } }), 60_000, 'the credit note');
    };
    // 190 × 410 / 1189 = 65.5 -> 66 (410 / 1.19 = 344.5 -> net 345, tax 65, would lose a cent of tax).
    expect(await creditNote(410)).toMatchObject({ amountMinor: 410, taxMinor: 66, netMinor: 344 });
    await waitForOrder(stack, placed.id, ['partially_refunded']);
    expect(await creditNote()).toMatchObject({ amountMinor: 779, taxMinor: 124, netMinor: 655 });
    const sums = await stack.db.creditNote.aggregate({ where: { invoiceId: invoice.id }, _sum: { amountMinor: true, taxMinor: true, netMinor: true } });
    expect(sums._sum).toEqual({ amountMinor: 1189, taxMinor: 190, netMinor: 999 });
  });
});

describe('top-ups', () => {
  it("a rule's monthly amount cap counts the tax a refill's order charges", async () => {
    const pkg = await buyablePackage(stack, { type: 'credits', durationDays: null, creditsAmount: 50, priceMinor: 1000, currency: 'USD' });
    const userId = newUserId('tax-top-up'); // no billing country: 8.25 % -> 1000 + 83 = 1083 a refill
    const tooLow = await stack.call('POST', `/v1/admin/users/${userId}/top-up-rules`, { as: 'admin', body: { thresholdCredits: 10, packageCode: pkg.code, maxAmountMinorPerMonth: 1082 } });
    expect([tooLow.status, tooLow.body.error?.code, tooLow.body.error?.details?.priceMinor]).toEqual([422, 'TOP_UP_CAP_TOO_LOW', 1083]);

    const rule = expectStatus(
      await stack.call('POST', `/v1/admin/users/${userId}/top-up-rules`, { as: 'admin', body: { thresholdCredits: 10, packageCode: pkg.code, maxAmountMinorPerMonth: 2100 } }),
      201,
      'rule',
    );
    const at = new Date('2027-04-10T00:00:00.000Z');
    const claims = await Promise.all([1, 2, 3].map(() => claimRefill(stack.db, refillWorkflowId(rule.id, randomUUID()), rule.id, at)));
    // Two refills at the list price (2000) would fit in 2100; at what is charged (2 × 1083 = 2166) only one does.
    expect(claims.map((claim) => claim?.status).sort()).toEqual(['capped', 'capped', 'claimed']);
    expect(claims.find((claim) => claim?.status === 'claimed')?.amountMinor).toBe(1083);
    expect(await monthlyUse(stack.db, rule.id, '2027-04')).toEqual({ topUps: 1, amountMinor: 1083 });
  });

  it("a refill's order charges the same total: the off-session charge, the order, the payment and the invoice", async () => {
    const pkg = await buyablePackage(stack, { type: 'credits', durationDays: null, creditsAmount: 50, priceMinor: 1000, currency: 'USD' });
    const userId = newUserId('tax-refill');
    await setBilling(userId, { name: 'Erika', country: 'DE' }); // 19 %: 1000 + 190
    await grantCredits(stack.db, userId, 5);
    const params = withSignature({ merchant_id: 'tax-merchant', customer_ref: userId, timestamp: String(Math.floor(Date.now() / 1000)) }, SECRET);
    const saved = await fetch(`${simulator.url}/tokens`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
    const { token } = (await saved.json()) as { token: string };
    expectStatus(await stack.call('POST', '/v1/me/payment-methods', { as: { user: userId }, body: { channel: gateway, token } }), 201, 'save token');
    const rule = expectStatus(
      await stack.call('POST', `/v1/admin/users/${userId}/top-up-rules`, { as: 'admin', body: { thresholdCredits: 10, packageCode: pkg.code, maxTopUpsPerMonth: 2 } }),
      201,
      'rule',
    );

    const refillId = await startRefillAfter({ db: stack.db, temporal: stack.temporal, taskQueue: stack.taskQueue }, { type: 'credits.deducted', userId });
    expect(refillId).toBeDefined();
    const result = await stack.temporal.workflow.getHandle<typeof topUpRefillWorkflow>(refillId!).result();
    expect(result.outcome).toBe('completed');

    const placed = await stack.db.order.findFirstOrThrow({ where: { userId } });
    expect(placed).toMatchObject({ subtotalMinor: 1000, taxMinor: 190, amountMinor: 1190, taxMode: 'exclusive', taxCountry: 'DE' });
    await waitForOrder(stack, placed.id, ['completed']);
    expect(simulator.trades.get(placed.id)?.amount).toBe(1190);
    expect((await stack.db.orderPayment.findUniqueOrThrow({ where: { orderId: placed.id } })).amountMinor).toBe(1190);
    expect(await invoiceOf(placed.id)).toMatchObject({ totalMinor: 1190, taxMinor: 190, netMinor: 1000 });
    const refill = await stack.db.topUpRefill.findUniqueOrThrow({ where: { id: refillId! } });
    expect([refill.status, refill.amountMinor]).toEqual(['claimed', 1190]);
    expect(await monthlyUse(stack.db, rule.id, refill.month)).toEqual({ topUps: 1, amountMinor: 1190 });
  });
});
