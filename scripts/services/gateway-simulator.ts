/**
 * A small local stand-in for a generic redirect payment gateway (docs/payments-gateway.md), for the
 * README's example and the tests. It speaks the scheme from the gateway's side:
 * - GET  /pay?<signed params>   the "payment page": checks the signature, then (as if the buyer paid)
 *        sends the signed callback to notify_url and answers what the callback got back, as JSON.
 *        `&simulate=failed` sends a failed payment; `&tamper=amount` alters the amount after signing;
 *        `&simulate=silent` takes the payment but never calls back (a lost callback).
 * - POST /refund (form, signed)  answers {"code":"success","refund_id":...} to a correctly signed request.
 * - GET  /query?<signed merchant_id, from, to, timestamp>  the gateway's own records of the period
 *        (by payment time, Unix seconds [from, to)): what reconciliation compares against.
 * - GET  /healthz  answers {"ok":true} once the simulator listens (what a script waits on before paying).
 * - POST /tokens (form, signed merchant_id, customer_ref)  saves a payment method for off-session
 *        charges and answers {"code":"success","token":...}; `simulate=decline|requires_action` makes
 *        every charge of the token answer that (default approve). No card data ever reaches us.
 * - POST /tokens/delete (form, signed merchant_id, token)  forgets a token.
 * - POST /charge (form, signed merchant_id, token, out_trade_no, amount, currency, idempotency_key)
 *        an off-session charge: {"code":"success","status":"approved"|"declined"|"requires_action",...}.
 *        The same idempotency_key answers the first answer again and never charges twice. A
 *        requires_action answer carries `action_url`, the bank's page for the customer:
 * - GET  /authenticate?idempotency_key=…  the customer completes that payment (3-D Secure): the charge
 *        of that key is taken, and charging with the key again answers `approved` with its trade.
 *        `&simulate=decline` is a customer the bank refuses: the key answers `declined` from then on.
 * Tests plant disagreements by editing `trades` (the gateway's books) directly, and change how a
 * saved token answers through `tokens`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hasValidSignature, withSignature } from '../../modules/payments/rules/gateway-signature';

export interface GatewaySimulatorOptions {
  merchantId: string;
  secret: string;
  port?: number;
}

/** The gateway's record of one payment. */
export interface SimulatedTrade {
  out_trade_no: string;
  trade_no: string;
  amount: number;
  currency: string;
  status: 'success' | 'failed';
  paid_at: number;
  refunded: number;
}

/** A saved payment method: whose it is and how its off-session charges answer. */
export interface SimulatedToken {
  customer_ref: string;
  behaviour: 'approve' | 'decline' | 'requires_action';
}

export interface GatewaySimulator {
  url: string;
  /** Saved payment methods, by token. */
  tokens: Map<string, SimulatedToken>;
  /** Off-session charge answers, by idempotency key (a repeat answers the stored one). */
  charges: Map<string, Record<string, string>>;
  refunds: Array<Record<string, string>>;
  /** The gateway's books, by out_trade_no (our order id). */
  trades: Map<string, SimulatedTrade>;
  /**
   * Tokens whose next charge is taken but its answer lost (a 503 after the payment was booked), as when
   * the caller dies between the charge and its answer: a retry with the same key must get the payment.
   */
  loseNextChargeAnswer: Set<string>;
  close(): Promise<void>;
}

export async function startGatewaySimulator(options: GatewaySimulatorOptions): Promise<GatewaySimulator> {
  const refunds: Array<Record<string, string>> = [];
  const trades = new Map<string, SimulatedTrade>();
  const refundNos = new Set<string>();
  const tokens = new Map<string, SimulatedToken>();
  const charges = new Map<string, Record<string, string>>();
  /** Charges answered requires_action, by idempotency key, until the customer completes them. */
  const loseNextChargeAnswer = new Set<string>();
  const awaitingCustomer = new Map<string, { out_trade_no: string; amount: number; currency: string }>();

  /** Books a successful payment; answers its trade number. */
  function takePayment(outTradeNo: string, amount: number, currency: string): string {
    const tradeNo = `sim-${randomUUID()}`;
    trades.set(outTradeNo, { out_trade_no: outTradeNo, trade_no: tradeNo, amount, currency, status: 'success', paid_at: Math.floor(Date.now() / 1000), refunded: 0 });
    return tradeNo;
  }
  const signedForm = async (req: import('node:http').IncomingMessage): Promise<Record<string, string> | undefined> => {
    let text = '';
    for await (const chunk of req) text += chunk;
    const params = Object.fromEntries(new URLSearchParams(text));
    return hasValidSignature(params, options.secret) && params.merchant_id === options.merchantId ? params : undefined;
  };
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://simulator');
    void (async () => {
      if (req.method === 'GET' && url.pathname === '/healthz') return json(res, 200, { ok: true });
      if (req.method === 'GET' && url.pathname === '/pay') {
        const { simulate, tamper, ...params } = Object.fromEntries(url.searchParams);
        if (!hasValidSignature(params, options.secret) || params.merchant_id !== options.merchantId) {
          return json(res, 400, { code: 'fail', message: 'bad signature' });
        }
        const callback = withSignature(
          {
            merchant_id: options.merchantId,
            out_trade_no: params.out_trade_no ?? '',
            trade_no: `sim-${randomUUID()}`,
            amount: params.amount ?? '',
            currency: params.currency ?? '',
            status: simulate === 'failed' ? 'failed' : 'success',
            timestamp: String(Math.floor(Date.now() / 1000)),
            nonce: randomUUID(),
          },
          options.secret,
        );
        if (simulate !== 'failed') {
          trades.set(callback.out_trade_no!, {
            out_trade_no: callback.out_trade_no!,
            trade_no: callback.trade_no!,
            amount: Number(callback.amount),
            currency: callback.currency!,
            status: 'success',
            paid_at: Math.floor(Date.now() / 1000),
            refunded: 0,
          });
        }
        if (simulate === 'silent') return json(res, 200, { paid: true, callback, callbackStatus: null, callbackBody: null });
        if (tamper === 'amount') callback.amount = String(Number(callback.amount) + 1);
        const answer = await fetch(params.notify_url!, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(callback).toString(),
        });
        return json(res, 200, { paid: simulate !== 'failed', callback, callbackStatus: answer.status, callbackBody: await answer.json().catch(() => null) });
      }
      if (req.method === 'POST' && url.pathname === '/refund') {
        let text = '';
        for await (const chunk of req) text += chunk;
        const params = Object.fromEntries(new URLSearchParams(text));
        if (!hasValidSignature(params, options.secret)) return json(res, 400, { code: 'fail', message: 'bad signature' });
        refunds.push(params);
        const trade = params.out_trade_no ? trades.get(params.out_trade_no) : undefined;
        if (trade && params.refund_no && !refundNos.has(params.refund_no)) {
          refundNos.add(params.refund_no);
          trade.refunded += Number(params.amount);
        }
        return json(res, 200, { code: 'success', refund_id: `sim-refund-${params.refund_no}` });
      }
      if (req.method === 'POST' && url.pathname === '/tokens') {
        const params = await signedForm(req);
        if (!params) return json(res, 400, { code: 'fail', message: 'bad signature' });
        const behaviour = params.simulate === 'decline' || params.simulate === 'requires_action' ? params.simulate : 'approve';
        const token = `tok_${randomUUID()}`;
        tokens.set(token, { customer_ref: params.customer_ref ?? '', behaviour });
        return json(res, 200, { code: 'success', token });
      }
      if (req.method === 'POST' && url.pathname === '/tokens/delete') {
        const params = await signedForm(req);
        if (!params) return json(res, 400, { code: 'fail', message: 'bad signature' });
        const deleted = tokens.delete(params.token ?? '');
        return json(res, deleted ? 200 : 404, deleted ? { code: 'success' } : { code: 'fail', message: 'unknown token' });
      }
      if (req.method === 'POST' && url.pathname === '/charge') {
        const params = await signedForm(req);
        if (!params) return json(res, 400, { code: 'fail', message: 'bad signature' });
        const key = params.idempotency_key ?? '';
        const earlier = charges.get(key);
        if (earlier) return json(res, 200, earlier);
        const saved = tokens.get(params.token ?? '');
        if (!saved) return json(res, 404, { code: 'fail', message: 'unknown token' });
        const status = saved.behaviour === 'approve' ? 'approved' : saved.behaviour === 'decline' ? 'declined' : 'requires_action';
        const answer: Record<string, string> = { code: 'success', status, out_trade_no: params.out_trade_no ?? '' };
        if (status === 'approved') answer.trade_no = takePayment(answer.out_trade_no!, Number(params.amount), params.currency ?? '');
        if (status === 'declined') answer.decline_code = 'insufficient_funds';
        if (status === 'requires_action') {
          answer.action_url = `http://${req.headers.host ?? 'simulator'}/authenticate?idempotency_key=${encodeURIComponent(key)}`;
          awaitingCustomer.set(key, { out_trade_no: answer.out_trade_no!, amount: Number(params.amount), currency: params.currency ?? '' });
        }
        charges.set(key, answer);
        if (loseNextChargeAnswer.delete(params.token ?? '')) return json(res, 503, { code: 'fail', message: 'answer lost' });
        return json(res, 200, answer);
      }
      if (req.method === 'GET' && url.pathname === '/authenticate') {
        const key = url.searchParams.get('idempotency_key') ?? '';
        const pending = awaitingCustomer.get(key);
        if (!pending) return json(res, 404, { code: 'fail', message: 'no payment waits for the customer under this key' });
        awaitingCustomer.delete(key);
        const answer: Record<string, string> =
          url.searchParams.get('simulate') === 'decline'
            ? { code: 'success', status: 'declined', out_trade_no: pending.out_trade_no, decline_code: 'authentication_failed' }
            : { code: 'success', status: 'approved', out_trade_no: pending.out_trade_no, trade_no: takePayment(pending.out_trade_no, pending.amount, pending.currency) };
        charges.set(key, answer);
        return json(res, 200, answer);
      }
      if (req.method === 'GET' && url.pathname === '/query') {
        const params = Object.fromEntries(url.searchParams);
        if (!hasValidSignature(params, options.secret) || params.merchant_id !== options.merchantId) {
          return json(res, 400, { code: 'fail', message: 'bad signature' });
        }
        const from = Number(params.from);
        const to = Number(params.to);
        const inPeriod = [...trades.values()].filter((trade) => trade.paid_at >= from && trade.paid_at < to);
        return json(res, 200, { code: 'success', trades: inPeriod });
      }
      json(res, 404, { code: 'fail', message: 'not found' });
    })().catch((error: unknown) => json(res, 500, { code: 'fail', message: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refunds,
    trades,
    tokens,
    charges,
    loseNextChargeAnswer,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
