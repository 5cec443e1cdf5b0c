/**
 * The README's "TypeScript SDK" snippet, kept here so it compiles and runs (tests/example-ai-chat.test.ts
 * runs it and checks the README still shows this code, between the markers).
 */
import { BillingApiError, createBillingClient, withReservation } from '@durable-billing/client';

export async function quickstart(baseUrl: string, serviceKey: string, userId: string) {
  // README:begin
  const billing = createBillingClient({ baseUrl, credential: serviceKey });

  // Direct deduct: the client makes the Idempotency-Key and retries a 429/503 with the same one.
  const consumption = await billing.post('/v1/internal/credits/deduct', {
    body: { userId, actionKey: 'advanced_analysis' },
  });

  // Reserve 10 ai_chat units, run the work, commit the 7 it used; a throw would release the hold.
  const { result, commit } = await withReservation(billing, { userId, actionKey: 'ai_chat', quantity: 10 }, async () => {
    return { used: 7, result: 'the reply' };
  });

  // A refusal is a BillingApiError with the envelope's stable code and details.
  try {
    await billing.post('/v1/internal/credits/deduct', { body: { userId, actionKey: 'ai_chat', quantity: 1000 } });
  } catch (error) {
    if (!(error instanceof BillingApiError) || error.code !== 'INSUFFICIENT_CREDITS') throw error;
    console.log(`needs ${error.details.required}, has ${error.details.available}`);
  }
  // README:end
  return { consumption, result, commit };
}
