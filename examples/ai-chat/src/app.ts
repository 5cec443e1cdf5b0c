/**
 * An "AI chat" business service paying for each reply with credits through the SDK: per request it
 * reserves the most a reply may cost, calls the model, commits the units the reply used, and
 * releases the hold when the model fails. A user without the credits gets the billing API's 402
 * relayed: status 402 and the refusal's details (`required`, `available`).
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { BillingApiError, withReservation, type BillingClient } from '@durable-billing/client';
import type { ChatModel } from './model';

export interface ChatServiceOptions {
  billing: BillingClient;
  model: ChatModel;
  /** The priced action a reply is billed as (its unit price is set in the billing API's catalog). */
  actionKey: string;
  /** Tokens one unit of the action covers. */
  tokensPerUnit: number;
  /** The most units one reply may use: what is held before the model runs. */
  maxUnitsPerReply: number;
}

interface ChatRequest {
  userId: string;
  prompt: string;
}

function chatRequestOf(body: unknown): ChatRequest | null {
  const { userId, prompt } = (body ?? {}) as Partial<ChatRequest>;
  return typeof userId === 'string' && userId !== '' && typeof prompt === 'string' && prompt !== '' ? { userId, prompt } : null;
}

/** Thrown when the model fails: the hold was released, the caller is told the model is unavailable. */
class ModelFailed extends Error {}

export function createChatApp(options: ChatServiceOptions): express.Express {
  const app = express();
  app.use(express.json());

  app.post('/chat', async (req: Request, res: Response) => {
    const chat = chatRequestOf(req.body);
    if (!chat) {
      res.status(400).json({ error: 'invalid_request', message: 'Send { userId, prompt }.' });
      return;
    }
    const { result, reservation, commit } = await withReservation(
      options.billing,
      { userId: chat.userId, actionKey: options.actionKey, quantity: options.maxUnitsPerReply },
      async () => {
        const reply = await options.model.complete(chat.prompt).catch((error: unknown) => {
          throw new ModelFailed(String(error));
        });
        const used = Math.min(options.maxUnitsPerReply, Math.max(1, Math.ceil(reply.tokens / options.tokensPerUnit)));
        return { used, result: reply };
      },
    );
    res.json({ reply: result.text, reservationId: reservation.id, unitsCharged: commit?.consumption.quantity ?? 0, creditsCharged: commit?.consumption.creditsCost ?? 0 });
  });

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof BillingApiError && error.code === 'INSUFFICIENT_CREDITS') {
      res.status(402).json({ error: 'insufficient_credits', message: error.message, details: error.details });
    } else if (error instanceof ModelFailed) {
      res.status(502).json({ error: 'model_unavailable', message: 'The model did not answer; nothing was charged.' });
    } else {
      res.status(503).json({ error: 'billing_unavailable', message: 'Try again later.' });
    }
  });
  return app;
}
