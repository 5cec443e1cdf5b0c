/**
 * `npm run gateway-sim`: the local gateway simulator (scripts/services/gateway-simulator.ts) on GATEWAY_SIM_PORT
 * (default 3100) with GATEWAY_SIM_MERCHANT / GATEWAY_SIM_SECRET (dev defaults below). Register it as a
 * channel with the same merchant id and secret, then open an order's paymentUrl to "pay".
 */
import { startGatewaySimulator } from './services/gateway-simulator';

const merchantId = process.env.GATEWAY_SIM_MERCHANT ?? 'demo-merchant';
const secret = process.env.GATEWAY_SIM_SECRET ?? 'dev-gateway-secret-change-me';
startGatewaySimulator({ merchantId, secret, port: Number(process.env.GATEWAY_SIM_PORT ?? 3100) }).then((sim) => {
  process.stdout.write(`[gateway-sim] ${sim.url}  merchant ${merchantId}  secret ${secret}\n`);
});
