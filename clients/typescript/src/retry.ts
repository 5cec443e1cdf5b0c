/**
 * Retries of "not now" answers and lost connections. The request is sent again unchanged, so a
 * mutating call keeps its Idempotency-Key and the API applies it at most once (docs/api.md, "503 and
 * Retry-After"). Bounded in attempts and in how long one wait may be; the sleep is injectable so a
 * test can run the retries without waiting on the wall clock.
 */
export interface RetryOptions {
  /** Attempts in all, the first included (default 4; 1 turns retries off). */
  maxAttempts?: number;
  /** Wait before the second attempt when the answer names none (default 200 ms); doubled per attempt. */
  baseDelayMs?: number;
  /** The longest single wait (default 30 s). A `Retry-After` longer than this is not waited for: the answer is returned as it is. */
  maxDelayMs?: number;
  /** How to wait (default: a timer). */
  sleep?: (ms: number) => Promise<void>;
}

const RETRIED_STATUSES = new Set([429, 503]);

const timerSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `Retry-After` in milliseconds: seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | null {
  if (header === null || header.trim() === '') return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export function retryingFetch(send: typeof fetch, options: RetryOptions = {}): (request: Request, init?: RequestInit) => Promise<Response> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 4);
  const baseDelayMs = options.baseDelayMs ?? 200;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const sleep = options.sleep ?? timerSleep;
  const backoff = (attempt: number) => Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));

  // `init` is what openapi-fetch adds beside the request (e.g. an undici dispatcher): passed on as it is.
  return async (request, init) => {
    for (let attempt = 1; ; attempt++) {
      const last = attempt === maxAttempts;
      // A body can be read once: every attempt but the last sends a copy, so the next one has it too.
      const sent = last ? request : request.clone();
      let response: Response;
      try {
        response = await send(sent, init);
      } catch (error) {
        if (last || request.signal.aborted) throw error;
        await sleep(backoff(attempt));
        continue;
      }
      if (last || !RETRIED_STATUSES.has(response.status)) return response;
      const asked = retryAfterMs(response.headers.get('retry-after'));
      if (asked !== null && asked > maxDelayMs) return response;
      await response.body?.cancel();
      await sleep(asked ?? backoff(attempt));
    }
  };
}
