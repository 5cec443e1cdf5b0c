/**
 * The example business service (examples/ai-chat) against the real stack: a chat reply reserves
 * credits through the SDK, commits what the reply used, releases the hold when the model fails, and
 * relays a 402 with the billing error's details. Also runs the README's SDK snippet.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createBillingClient } from '@durable-billing/client';
import { createChatApp } from '../examples/ai-chat/src/app';
import { echoModel, type ChatModel } from '../examples/ai-chat/src/model';
import { quickstart } from '../examples/ai-chat/src/quickstart';
import { createActionPrice } from './support/fixtures';
import { grantCredits, newUserId, SERVICE_KEY, startStack, userToken, type TestStack } from './support/stack';

let stack: TestStack;
let server: Server;
let chatUrl: string;
const TOKENS_PER_UNIT = 4;
const MAX_UNITS = 5;
const CREDITS_PER_UNIT = 2;

/** The echo model, except that it fails on the prompt "fail" (a model outage). */
const model: ChatModel = {
  complete: (prompt) => (prompt === 'fail' ? Promise.reject(new Error('model unavailable')) : echoModel.complete(prompt)),
};

beforeAll(async () => {
  stack = await startStack();
  const { actionKey } = await createActionPrice(stack, { creditsPerUnit: CREDITS_PER_UNIT });
  const billing = createBillingClient({ baseUrl: stack.baseUrl, credential: SERVICE_KEY });
  const app = createChatApp({ billing, model, actionKey, tokensPerUnit: TOKENS_PER_UNIT, maxUnitsPerReply: MAX_UNITS });
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  chatUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/chat`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await stack?.close();
});

async function chat(userId: string, prompt: string) {
  const response = await fetch(chatUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId, prompt }) });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function spendable(userId: string): Promise<number> {
  const asUser = createBillingClient({ baseUrl: stack.baseUrl, credential: await userToken(userId) });
  return (await asUser.get('/v1/me/credits')).availableCredits;
}

async function reservationsOf(userId: string) {
  return stack.db.reservation.findMany({ where: { userId }, select: { status: true } });
}

it('reserves before the model call and commits the units the reply used', async () => {
  const userId = newUserId('chat');
  await grantCredits(stack.db, userId, 100);
  // "hello there": 2 prompt words + 4 reply words ("You said: hello there") = 6 tokens = 2 units of 4 tokens.
  const { status, body } = await chat(userId, 'hello there');
  expect(status).toBe(200);
  expect(body).toMatchObject({ reply: 'You said: hello there', unitsCharged: 2, creditsCharged: 2 * CREDITS_PER_UNIT });
  expect(await spendable(userId)).toBe(100 - 2 * CREDITS_PER_UNIT);
  expect(await reservationsOf(userId)).toEqual([{ status: 'committed' }]);
});

it('releases the hold when the model fails and charges nothing', async () => {
  const userId = newUserId('chat');
  await grantCredits(stack.db, userId, 100);
  const { status, body } = await chat(userId, 'fail');
  expect(status).toBe(502);
  expect(body.error).toBe('model_unavailable');
  expect(await reservationsOf(userId)).toEqual([{ status: 'released' }]);
  expect(await spendable(userId)).toBe(100);
});

it('relays a 402 with the billing error’s details when the user cannot cover the hold', async () => {
  const userId = newUserId('chat');
  await grantCredits(stack.db, userId, 3);
  const { status, body } = await chat(userId, 'hello');
  expect(status).toBe(402);
  expect(body).toMatchObject({ error: 'insufficient_credits', details: { required: MAX_UNITS * CREDITS_PER_UNIT, available: 3 } });
  expect(await reservationsOf(userId)).toEqual([]);
  expect(await spendable(userId)).toBe(3);
});

describe('the README snippet', () => {
  const source = readFileSync(path.join(__dirname, '..', 'examples', 'ai-chat', 'src', 'quickstart.ts'), 'utf8');
  const snippet = /\/\/ README:begin\n([\s\S]*?)\n\s*\/\/ README:end/.exec(source)![1]!.replace(/^ {2}/gm, '');

  it('is the code the README shows', () => {
    const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    expect(readme).toContain(snippet);
  });

  it('runs against the API', async () => {
    const userId = newUserId('quickstart');
    await grantCredits(stack.db, userId, 50);
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const { consumption, result, commit } = await quickstart(stack.baseUrl, SERVICE_KEY, userId);
      expect(consumption).toMatchObject({ userId, actionKey: 'advanced_analysis', quantity: 1 });
      expect(result).toBe('the reply');
      expect(commit?.consumption).toMatchObject({ actionKey: 'ai_chat', quantity: 7 });
      expect(log).toHaveBeenCalledWith(expect.stringMatching(/^needs \d+, has \d+$/));
    } finally {
      log.mockRestore();
    }
  });
});
