/**
 * A throwaway redis-server (Debian's `redis-server` package, see debian-tools.ts): in memory only (no
 * snapshot, no append-only file), loopback only, on a free port. For the tests of the rate limits that
 * API replicas share (api/rate-limit-store.ts).
 */
import { createClient } from 'redis';
import { findDebianTool } from './debian-tools';
import { DEFAULT_READY_TIMEOUT_MS, LOOPBACK, defaultLogFile, onFreePort, startService, type LogDestination } from './processes';

export interface RedisOptions {
  /** 0/undefined picks a free port. */
  port?: number;
  /** Default: a file in the OS temp dir. */
  log?: LogDestination;
  readyTimeoutMs?: number;
}

export interface LocalRedis {
  /** redis://127.0.0.1:PORT */
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Ready means it answers PING. */
async function redisIsReady(url: string): Promise<void> {
  const client = createClient({ url, socket: { connectTimeout: 2_000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.ping();
  } finally {
    await client.close();
  }
}

export async function startRedis(options: RedisOptions = {}): Promise<LocalRedis> {
  const binary = findDebianTool('redis-server');
  if (!binary) throw new Error('redis-server not found: apt-get install redis-server (npm run setup installs it)');
  return onFreePort(options.port, async (port) => {
    const url = `redis://${LOOPBACK}:${port}`;
    const service = await startService(
      {
        name: 'redis',
        command: binary,
        args: ['--port', String(port), '--bind', LOOPBACK, '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
        log: options.log ?? defaultLogFile('redis', port),
        stopSignals: ['SIGTERM'],
        emergencySignal: 'SIGKILL',
      },
      () => redisIsReady(url),
      options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    );
    return { url, port, pid: service.pid, stop: () => service.stop() };
  });
}
