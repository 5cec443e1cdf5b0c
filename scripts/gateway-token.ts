/**
 * `npm run gateway-token -- <customer ref> [decline|requires_action]`: what the gateway's card page does in
 * dev: saves a card at the gateway simulator (`npm run gateway-sim`) and prints the token it answers, for
 * POST /v1/me/payment-methods. GATEWAY_SIM_PORT, GATEWAY_SIM_MERCHANT, GATEWAY_SIM_SECRET as the simulator's.
 */
import { withSignature } from '../modules/payments/rules/gateway-signature';

async function main(): Promise<void> {
  const customerRef = process.argv[2];
  if (!customerRef) throw new Error('usage: npm run gateway-token -- <customer ref> [decline|requires_action]');
  const simulate = process.argv[3];
  const url = `http://127.0.0.1:${process.env.GATEWAY_SIM_PORT ?? 3100}/tokens`;
  const fields = {
    merchant_id: process.env.GATEWAY_SIM_MERCHANT ?? 'demo-merchant',
    customer_ref: customerRef,
    timestamp: String(Math.floor(Date.now() / 1000)),
    ...(simulate ? { simulate } : {}),
  };
  const params = withSignature(fields, process.env.GATEWAY_SIM_SECRET ?? 'dev-gateway-secret-change-me');
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
  const answer = (await response.json()) as { token?: string; message?: string };
  if (!response.ok || !answer.token) throw new Error(`the simulator refused: ${response.status} ${answer.message ?? ''}`);
  process.stdout.write(`${answer.token}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
});
