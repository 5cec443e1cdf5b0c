/**
 * A local HTTP receiver for the bench: answers 200 to every POST and tells a waiting operation when the
 * body it waits for has arrived (`keyOf` names a body). Webhook deliveries (events) and OTLP exports
 * (edge) go to it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface Receiver {
  url: string;
  /** POSTs received, and their bytes. */
  readonly received: { requests: number; bytes: number };
  /** Resolves with performance.now() at the arrival of the body whose key is `key` (even one that came first). */
  arrival(key: string, timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

export async function startReceiver(keyOf: (body: string) => string | undefined = () => undefined): Promise<Receiver> {
  const arrived = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  const received = { requests: 0, bytes: 0 };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const at = performance.now();
      const body = Buffer.concat(chunks);
      received.requests++;
      received.bytes += body.length;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      const key = keyOf(body.toString('utf8'));
      if (key === undefined) return;
      const waiter = waiting.get(key);
      if (waiter) {
        waiting.delete(key);
        waiter(at);
      } else arrived.set(key, at);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    arrival(key, timeoutMs = 60_000) {
      const at = arrived.get(key);
      if (at !== undefined) {
        arrived.delete(key);
        return Promise.resolve(at);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(key);
          reject(new Error(`nothing delivered for ${key} within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        waiting.set(key, (when) => {
          clearTimeout(timer);
          resolve(when);
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
