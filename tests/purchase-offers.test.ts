/**
 * INSUFFICIENT_CREDITS answers an agent can act on: the shortfall and the smallest packages on sale that
 * cover it, in the user's currency, each with the call that buys it; the same shape from deduct, reserve
 * and check (modules/topups/offers.ts, docs/api.md "When credits run out").
 *
 * BHD is this file's currency: no other test prices a package in it or lets a channel take it, so the
 * offers in BHD are exactly the packages created here.
 */
import { randomUUID } from 'node:crypto';
import { grantCredits, newUserId, startStack, type TestStack } from './support/stack';
import { createPackage, expectStatus, uniqueKey } from './support/fixtures';
import { manualChannel, order, setPrices } from './support/commerce';
import { OfferBook, MAX_OFFERS } from '../modules/topups';

let stack: TestStack;
let gatewayChannel: string;
let manual: string;
/** Package codes by credits: 3 (too small for the shortfall below), 5, 8, 13, 21; 6 hidden; 4 without a BHD price. */
const codes: Record<number, string> = {};

beforeAll(async () => {
  stack = await startStack();
  gatewayChannel = uniqueKey('gw');
  expectStatus(
    await stack.call('POST', '/v1/admin/payment-channels', {
      as: 'admin',
      body: { code: gatewayChannel, kind: 'gateway', name: 'Card (gateway)', currencies: ['BHD'], config: { gatewayUrl: 'http://127.0.0.1:9/pay', merchantId: 'm-1', secret: 'a-secret-of-sixteen-chars' } },
    }),
    201,
    'create gateway channel',
  );
  manual = await manualChannel(stack, ['BHD']);
  for (const credits of [21, 3, 13, 5]) {
    codes[credits] = (await createPackage(stack, { type: 'credits', creditsAmount: credits, priceMinor: credits * 1000, currency: 'BHD' })).code;
  }
  // Priced in USD by default, in BHD as an extra price: offered in BHD at that price.
  const eight = await createPackage(stack, { type: 'credits', creditsAmount: 8, priceMinor: 899, currency: 'USD' });
  await setPrices(stack, eight.id, [{ currency: 'BHD', amountMinor: 3300 }]);
  codes[8] = eight.code;
  codes[6] = (await createPackage(stack, { type: 'credits', creditsAmount: 6, priceMinor: 6000, currency: 'BHD', visible: false })).code;
  codes[4] = (await createPackage(stack, { type: 'credits', creditsAmount: 4, priceMinor: 499, currency: 'USD' })).code;
});
afterAll(async () => {
  await stack?.close();
});

/** A user whose latest order is in BHD, holding `credits` spendable credits. */
async function bhdUser(credits: number): Promise<string> {
  const userId = newUserId('bhd');
  expectStatus(await order(stack, userId, { packageCode: codes[3]!, channel: manual, currency: 'BHD' }), 201, 'BHD order');
  if (credits > 0) await grantCredits(stack.db, userId, credits);
  return userId;
}

function offer(userId: string, credits: number, priceMinor: number) {
  const packageCode = codes[credits]!;
  return {
    packageCode,
    name: 'Test package',
    credits,
    priceMinor,
    taxMinor: 0,
    currency: 'BHD',
    purchase: { method: 'POST', path: '/v1/internal/orders', body: { userId, packageCode, channel: gatewayChannel, currency: 'BHD' } },
  };
}

/** 1 credit held, 5 ai_chat units asked: 4 missing, so 3 and the hidden 6 are out, 4 has no BHD price. */
function expectedDetails(userId: string) {
  return { required: 5, available: 1, shortfall: 4, offers: [offer(userId, 5, 5000), offer(userId, 8, 3300), offer(userId, 13, 13000)] };
}

describe('offers on INSUFFICIENT_CREDITS', () => {
  it('deduct: the shortfall and the three smallest packages that cover it, in the user’s currency, with the call that buys each', async () => {
    const userId = await bhdUser(1);
    const refused = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat', quantity: 5 } });
    expect(refused.status).toBe(402);
    expect(refused.body.error).toEqual({ code: 'INSUFFICIENT_CREDITS', message: expect.any(String), details: expectedDetails(userId) });
  });

  it('reserve: the same details as the deduct', async () => {
    const userId = await bhdUser(1);
    const refused = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity: 5 } });
    expect(refused.status).toBe(402);
    expect(refused.body.error).toEqual({ code: 'INSUFFICIENT_CREDITS', message: expect.any(String), details: expectedDetails(userId) });
  });

  it('check: shortfall and offers when not sufficient, none when sufficient', async () => {
    const userId = await bhdUser(1);
    const short = await stack.call('POST', '/v1/internal/credits/check', { body: { userId, actionKey: 'ai_chat', quantity: 5 } });
    expect(short.status).toBe(200);
    expect(short.body).toEqual({ userId, actionKey: 'ai_chat', quantity: 5, sufficient: false, ...expectedDetails(userId) });

    const enough = await stack.call('POST', '/v1/internal/credits/check', { body: { userId, actionKey: 'ai_chat', quantity: 1 } });
    expect(enough.body).toMatchObject({ sufficient: true, required: 1, available: 1, shortfall: 0, offers: [] });
  });

  it('offers fewer than three when fewer packages cover the shortfall, none when none does', async () => {
    const userId = await bhdUser(0);
    const big = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat', quantity: 20 } });
    expect(big.body.error.details).toEqual({ required: 20, available: 0, shortfall: 20, offers: [offer(userId, 21, 21000)] });
    const huge = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat', quantity: 22 } });
    expect(huge.body.error.details).toEqual({ required: 22, available: 0, shortfall: 22, offers: [] });
  });

  it('without orders: each package in its own currency, smallest covering first, at most three, each buyable through a self-service channel', async () => {
    const userId = newUserId('no-orders');
    const refused = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat', quantity: 4 } });
    const { shortfall, offers } = refused.body.error.details as { shortfall: number; offers: Array<{ credits: number; currency: string; packageCode: string; priceMinor: number; purchase: { body: { channel: string; currency: string } } }> };
    expect(shortfall).toBe(4);
    expect(offers.length).toBeGreaterThan(0);
    expect(offers.length).toBeLessThanOrEqual(MAX_OFFERS);
    expect(offers.map((o) => o.credits)).toEqual([...offers.map((o) => o.credits)].sort((a, b) => a - b));
    for (const offered of offers) {
      expect(offered.credits).toBeGreaterThanOrEqual(shortfall);
      const pkg = await stack.db.billingPackage.findUniqueOrThrow({ where: { code: offered.packageCode } });
      expect([offered.currency, offered.priceMinor, pkg.visible, pkg.status]).toEqual([pkg.currency, pkg.priceMinor, true, 'active']);
      const channel = await stack.db.paymentChannel.findUniqueOrThrow({ where: { code: offered.purchase.body.channel } });
      expect([channel.kind === 'manual', (channel.currencies as string[]).includes(offered.currency)]).toEqual([false, true]);
    }
  });

  it('a successful deduct is answered as before, without offers', async () => {
    const userId = await bhdUser(5);
    const spent = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat', quantity: 5 } });
    expect(spent.status).toBe(201);
    expect(spent.body).not.toHaveProperty('offers');
  });
});

describe('OfferBook', () => {
  it('reads the catalog once per currency while its snapshot is fresh, and again after', async () => {
    let now = 0;
    const book = new OfferBook(stack.db, () => now, 1_000);
    const userId = await bhdUser(0);
    const before = await book.shortfall(userId, 40, 0);
    expect(before.offers).toEqual([]);

    const forty = await createPackage(stack, { type: 'credits', creditsAmount: 40, priceMinor: 40_000, currency: 'BHD' });
    now = 999;
    expect((await book.shortfall(userId, 40, 0)).offers).toEqual([]);
    now = 1_000;
    expect((await book.shortfall(userId, 40, 0)).offers.map((o) => o.packageCode)).toEqual([forty.code]);
    await stack.call('DELETE', `/v1/admin/packages/${forty.id}`, { as: 'admin', idempotencyKey: randomUUID() });
  });

  it('passes any other error through unchanged', async () => {
    const book = new OfferBook(stack.db);
    const other = new Error('not a refusal');
    expect(await book.withOffers('u', other)).toBe(other);
  });
});
