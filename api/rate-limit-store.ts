/**
 * The rate limits' shared store: with RATE_LIMIT_REDIS_URL every API replica counts each credential's
 * requests in one Redis (rate-limit-redis), so the limit holds for the deployment, not per process.
 * Without it each replica counts on its own (express-rate-limit's memory store).
 */
import { RedisStore } from 'rate-limit-redis';
import { createClient } from 'redis';
import type { Logger } from 'pino';
import { StartupError } from '../platform/startup';

export interface SharedRateLimitStore {
  store: RedisStore;
  close(): Promise<void>;
}

/** Key prefix in Redis: the store may share a Redis with other programs. */
const KEY_PREFIX = 'durable-billing:rate-limit:';

/**
 * Connects to Redis and returns the store. A Redis that goes away later is reconnected in the
 * background; meanwhile requests are not limited (api/edge.ts lets them pass: the limits protect
 * capacity, they are not what keeps balances right), and each failure is logged.
 */
export async function connectRateLimitStore(url: string, log: Logger): Promise<SharedRateLimitStore> {
  let connectedOnce = false;
  const client = createClient({
    url,
    socket: {
      connectTimeout: 5_000,
      // At start a Redis that does not answer stops the program (the variable is wrong); later, reconnect.
      reconnectStrategy: (retries: number, cause: Error) => (connectedOnce ? Math.min(100 * 2 ** retries, 2_000) : cause),
    },
  });
  let lastLogged = 0;
  client.on('error', (error: unknown) => {
    // Reconnection retries emit an error each: one line every 10 s is enough.
    if (Date.now() - lastLogged < 10_000) return;
    lastLogged = Date.now();
    log.warn({ err: error }, 'rate limit store (Redis) unavailable; requests are not limited meanwhile');
  });
  await client.connect();
  connectedOnce = true;
  const store = new RedisStore({
    prefix: KEY_PREFIX,
    sendCommand: (...args: string[]) => client.sendCommand(args) as Promise<never>,
  });
  return {
    store,
    close: async () => {
      await client.close();
    },
  };
}

/** connectRateLimitStore at start: a failure names RATE_LIMIT_REDIS_URL (without its password). */
export async function connectingToRateLimitStore(url: string, log: Logger): Promise<SharedRateLimitStore> {
  try {
    return await connectRateLimitStore(url, log);
  } catch (error) {
    const address = new URL(url);
    address.password = '';
    const cause = error instanceof Error ? error.message : String(error);
    throw new StartupError(`cannot reach the rate limit store RATE_LIMIT_REDIS_URL points at (${address.toString()}): ${cause}`, {
      variable: 'RATE_LIMIT_REDIS_URL',
      address: address.toString(),
      cause,
    });
  }
}
