import type { IncrementResponse, Options as RateLimitOptions, Store } from 'express-rate-limit';

/**
 * express-rate-limit's store contract (a window per key, from its first hit) on a clock the test moves: the
 * calls fall into one window however long a loaded machine takes to send them, and a window ends when the
 * test says. Retry-After is still computed by the API from the reset time the store reports.
 */
export class ManualClockStore implements Store {
  private now = 0;
  private windowMs = 0;
  private readonly clients = new Map<string, { hits: number; resetAt: number }>();
  readonly localKeys = true;

  init(options: RateLimitOptions): void {
    this.windowMs = options.windowMs;
  }

  increment(key: string): IncrementResponse {
    let client = this.clients.get(key);
    if (!client || client.resetAt <= this.now) this.clients.set(key, (client = { hits: 0, resetAt: this.now + this.windowMs }));
    client.hits++;
    return { totalHits: client.hits, resetTime: new Date(Date.now() + (client.resetAt - this.now)) };
  }

  decrement(key: string): void {
    const client = this.clients.get(key);
    if (client) client.hits--;
  }

  resetKey(key: string): void {
    this.clients.delete(key);
  }

  /** Moves this store's time on. */
  advance(ms: number): void {
    this.now += ms;
  }
}
