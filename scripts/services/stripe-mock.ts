/**
 * stripe-mock: a local fake of the Stripe API.
 */
import { DEFAULT_READY_TIMEOUT_MS, LOOPBACK, defaultLogFile, onFreePort, startService, type LogDestination } from './processes';
import { ensureStripeMock } from './tools';

export interface StripeMockOptions {
  /** 0/undefined picks a free port (stripe-mock's own default is 12111). */
  port?: number;
  /** Default: a file in the OS temp dir. */
  log?: LogDestination;
  /** Default 30 s. */
  readyTimeoutMs?: number;
}

export interface StripeMock {
  /** http://127.0.0.1:PORT */
  url: string;
  /** For `new Stripe(key, { host, port, protocol: 'http' })`. */
  host: string;
  port: number;
  logFile?: string;
  pid: number;
  stop(): Promise<void>;
}

/** Any HTTP answer (stripe-mock returns 401 without a key) proves it is serving. */
async function stripeMockIsReady(url: string): Promise<void> {
  const response = await fetch(`${url}/v1/customers`, {
    headers: { Authorization: 'Bearer sk_test_123' },
    signal: AbortSignal.timeout(2_000),
  });
  await response.arrayBuffer();
}

export async function startStripeMock(options: StripeMockOptions = {}): Promise<StripeMock> {
  const binary = await ensureStripeMock();
  return onFreePort(options.port, async (port) => {
    const url = `http://${LOOPBACK}:${port}`;
    const service = await startService(
      {
        name: 'stripe-mock',
        command: binary,
        // Given only -http-addr, stripe-mock still opens HTTPS on [::]:12112 — on all interfaces, and
        // clashing with any second instance. An empty port lets the OS pick a free loopback one instead.
        args: ['-http-addr', `${LOOPBACK}:${port}`, '-https-addr', `${LOOPBACK}:`],
        log: options.log ?? defaultLogFile('stripe-mock', port),
        stopSignals: ['SIGTERM'],
        emergencySignal: 'SIGKILL',
      },
      () => stripeMockIsReady(url),
      options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    );
    return { url, host: LOOPBACK, port, logFile: service.logFile, pid: service.pid, stop: () => service.stop() };
  });
}
