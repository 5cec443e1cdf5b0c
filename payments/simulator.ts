/**
 * A small local stand-in for a generic redirect payment gateway (docs/payments-gateway.md), for the
 * README's example and the tests. It speaks the scheme from the gateway's side:
 * - GET  /pay?<signed params>   the "payment page": checks the signature, then (as if the buyer paid)
 *        sends the signed callback to notify_url and answers what the callback got back, as JSON.
 *        `&simulate=failed` sends a failed payment; `&tamper=amount` alters the amount after signing.
 * - POST /refund (form, signed)  answers {"code":"success","refund_id":...} to a correctly signed request.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hasValidSignature, withSignature } from '../domain/gateway-signature';

export interface GatewaySimulatorOptions {
  merchantId: string;
  secret: string;
  port?: number;
}

export interface GatewaySimulator {
  url: string;
  refunds: Array<Record<string, string>>;
  close(): Promise<void>;
}

export async function startGatewaySimulator(options: GatewaySimulatorOptions): Promise<GatewaySimulator> {
  const refunds: Array<Record<string, string>> = [];
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://simulator');
    void (async () => {
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
        return json(res, 200, { code: 'success', refund_id: `sim-refund-${params.refund_no}` });
      }
      json(res, 404, { code: 'fail', message: 'not found' });
    })().catch((error: unknown) => json(res, 500, { code: 'fail', message: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refunds,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
