/** Runs the example: BILLING_URL, BILLING_API_KEY (a service key), PORT (default 3100). */
import { createBillingClient } from '@durable-billing/client';
import { createChatApp } from './app';
import { echoModel } from './model';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Set ${name}.`);
  return value;
}

const billing = createBillingClient({ baseUrl: required('BILLING_URL'), credential: required('BILLING_API_KEY') });
const app = createChatApp({ billing, model: echoModel, actionKey: process.env.CHAT_ACTION_KEY ?? 'ai_chat', tokensPerUnit: 10, maxUnitsPerReply: 5 });
const port = Number(process.env.PORT ?? 3100);
const server = app.listen(port, () => process.stdout.write(`ai-chat example listening on ${JSON.stringify(server.address())}\n`));
