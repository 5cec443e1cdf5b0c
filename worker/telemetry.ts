import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../platform/logger';
import { metricsRegistry } from '../platform/metrics';

/**
 * The worker's telemetry: the Temporal SDK's Runtime (its logs through pino; its metrics on a
 * Prometheus endpoint) and one metrics endpoint that serves the SDK's series together with this
 * process's own (prom-client: process and Node metrics, billing_credit_operations_total).
 *
 * The SDK's exporter lives in its native core and serves only its own series, so it listens on a
 * loopback port and the worker's endpoint (WORKER_METRICS_HOST:WORKER_METRICS_PORT) appends its text
 * to prom-client's: one scrape target per worker, and the two sets of names never collide
 * (`temporal_*` against `process_*`, `nodejs_*`, `billing_*`).
 */
export interface RuntimeOptions {
  log: Logger;
  logLevel: string;
  /** `host:port` for the SDK's Prometheus exporter; omitted = no SDK metrics. */
  sdkMetricsAddress?: string;
}

export function installWorkerRuntime(options: RuntimeOptions): void {
  const { log } = options;
  Runtime.install({
    // The SDK's own logs (workflow and activity context included: workflowId, runId, activityType...)
    // go through pino too, so the worker writes one JSON log stream.
    logger: new DefaultLogger(sdkLevel(options.logLevel), (entry) => {
      const level = entry.level === 'TRACE' ? 'trace' : entry.level === 'WARN' ? 'warn' : (entry.level.toLowerCase() as 'debug' | 'info' | 'error');
      log[level]({ ...entry.meta, sdk: true }, entry.message);
    }),
    ...(options.sdkMetricsAddress
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: options.sdkMetricsAddress, countersTotalSuffix: true, useSecondsForDurations: true } } } }
      : {}),
  });
}

function sdkLevel(level: string): LogLevel {
  const map: Record<string, LogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', fatal: 'ERROR', silent: 'ERROR' };
  return map[level] ?? 'INFO';
}

/** A free loopback port for the SDK's exporter (it cannot report the port it bound). */
export async function freeLoopbackPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * GET /metrics: prom-client's text followed by the SDK's. Unauthenticated: bind it to an address only
 * Prometheus reaches (default 127.0.0.1; a pod IP in Kubernetes, never a public interface).
 */
export async function startWorkerMetricsServer(options: { host: string; port: number; sdkMetricsAddress?: string }): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    void (async () => {
      const own = await metricsRegistry.metrics();
      const sdk = options.sdkMetricsAddress ? await fetchText(`http://${options.sdkMetricsAddress}/metrics`) : '';
      res.writeHead(200, { 'content-type': metricsRegistry.contentType }).end(`${own}\n${sdk}`);
    })().catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}

async function fetchText(url: string): Promise<string> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return response.ok ? await response.text() : '';
  } catch {
    return ''; // the SDK exporter not answering must not hide the process's own metrics
  }
}
