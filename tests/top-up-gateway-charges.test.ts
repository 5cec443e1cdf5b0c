/**
 * Off-session charges of saved gateway tokens (modules/topups/gateway-charges.ts) against the gateway
 * simulator (scripts/services/gateway-simulator.ts): approve, decline, requires_action, one charge per
 * idempotency key, forgetting a token, and a request signed with the wrong secret.
 */
import { randomUUID } from 'node:crypto';
import { startGatewaySimulator, type GatewaySimulator } from '../scripts/services/gateway-simulator';
import { withSignature } from '../modules/payments/rules/gateway-signature';
import { chargeSavedToken, forgetSavedToken, type GatewayAccount } from '../modules/topups';

const account = { merchantId: 'm-topups', secret: 'a-secret-of-at-least-sixteen' };
let gateway: GatewaySimulator;
let gatewayAccount: GatewayAccount;

beforeAll(async () => {
  gateway = await startGatewaySimulator(account);
  gatewayAccount = { ...account, gatewayUrl: gateway.url };
});
afterAll(async () => {
  await gateway?.close();
});

/** What the gateway's hosted card page does when the customer saves a card: the token is all we get. */
async function saveToken(simulate?: 'decline' | 'requires_action'): Promise<string> {
  const params = withSignature({ merchant_id: account.merchantId, customer_ref: 'user-1', timestamp: String(Math.floor(Date.now() / 1000)), ...(simulate ? { simulate } : {}) }, account.secret);
  const response = await fetch(`${gateway.url}/tokens`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
  return ((await response.json()) as { token: string }).token;
}

function charge(token: string, idempotencyKey: string = randomUUID()) {
  return { token, orderId: randomUUID(), amountMinor: 1000, currency: 'USD', idempotencyKey };
}

describe('off-session charges of a saved gateway token', () => {
  it('approves, and a repeat with the same key is the same charge', async () => {
    const token = await saveToken();
    const request = charge(token);
    const first = await chargeSavedToken(gatewayAccount, request);
    const again = await chargeSavedToken(gatewayAccount, { ...request, orderId: request.orderId });
    expect(first).toEqual({ status: 'approved', tradeNo: expect.stringMatching(/^sim-/) });
    expect(again).toEqual(first);
    expect(gateway.trades.get(request.orderId)).toMatchObject({ amount: 1000, currency: 'USD', status: 'success' });
    expect([...gateway.trades.values()].filter((trade) => trade.out_trade_no === request.orderId)).toHaveLength(1);
  });

  it('answers a decline and a request for the customer (requires_action) without charging', async () => {
    const declined = charge(await saveToken('decline'));
    expect(await chargeSavedToken(gatewayAccount, declined)).toEqual({ status: 'declined', declineCode: 'insufficient_funds' });
    const present = charge(await saveToken('requires_action'));
    const asked = await chargeSavedToken(gatewayAccount, present);
    expect(asked).toEqual({ status: 'requires_action', actionUrl: expect.stringContaining('/authenticate?idempotency_key=') });
    expect([gateway.trades.has(declined.orderId), gateway.trades.has(present.orderId)]).toEqual([false, false]);
    // The customer completes the payment at the link: the same key now answers the payment, taken once.
    expect((await fetch((asked as { actionUrl: string }).actionUrl)).status).toBe(200);
    const completed = await chargeSavedToken(gatewayAccount, present);
    expect(completed).toEqual({ status: 'approved', tradeNo: expect.stringMatching(/^sim-/) });
    expect(await chargeSavedToken(gatewayAccount, present)).toEqual(completed);
    expect(gateway.trades.get(present.orderId)?.amount).toBe(present.amountMinor);
  });

  it('a token the customer fixed is approved on the next attempt (a new key)', async () => {
    const token = await saveToken('decline');
    expect((await chargeSavedToken(gatewayAccount, charge(token, 'refill-1:charge:0'))).status).toBe('declined');
    gateway.tokens.get(token)!.behaviour = 'approve';
    expect((await chargeSavedToken(gatewayAccount, charge(token, 'refill-1:charge:0'))).status).toBe('declined'); // same key: same answer
    expect((await chargeSavedToken(gatewayAccount, charge(token, 'refill-1:charge:1'))).status).toBe('approved');
  });

  it('forgets a token (twice is fine); charging it afterwards is refused', async () => {
    const token = await saveToken();
    await forgetSavedToken(gatewayAccount, token);
    await forgetSavedToken(gatewayAccount, token);
    expect(gateway.tokens.has(token)).toBe(false);
    await expect(chargeSavedToken(gatewayAccount, charge(token))).rejects.toMatchObject({ code: 'PAYMENT_PROVIDER_ERROR' });
  });

  it('the gateway refuses a request signed with another secret', async () => {
    const token = await saveToken();
    await expect(chargeSavedToken({ ...gatewayAccount, secret: 'another-secret-of-sixteen' }, charge(token))).rejects.toMatchObject({ code: 'PAYMENT_PROVIDER_ERROR' });
  });
});
