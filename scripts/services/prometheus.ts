/**
 * A throwaway Prometheus server (Debian's `prometheus` package, the one that ships promtool: see
 * debian-tools.ts): a temporary config with the scrape jobs it is given and the project's rule files, a
 * temporary TSDB, loopback only, on a free port. For the dashboard snapshot (scripts/dashboard/) and the test
 * that evaluates a dashboard query against a real scrape.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { run } from './commands';
import { findDebianTool } from './debian-tools';
import { DEFAULT_READY_TIMEOUT_MS, LOOPBACK, onFreePort, startService, type LogDestination } from './processes';

export interface ScrapeJob {
  /** job label (the rules expect durable-billing-api and durable-billing-worker). */
  name: string;
  /** host:port */
  target: string;
  /** Bearer token (the API's METRICS_TOKENS entry). */
  bearerToken?: string;
}

export interface PrometheusOptions {
  jobs: ScrapeJob[];
  /** Rule files to load (absolute paths). */
  ruleFiles?: string[];
  scrapeIntervalSeconds?: number;
  port?: number;
  /** Default: prometheus.log in its temporary folder. */
  log?: LogDestination;
  readyTimeoutMs?: number;
}

export interface LocalPrometheus {
  url: string;
  port: number;
  pid: number;
  version: string;
  /** Its temporary folder (config, TSDB, log). */
  dir: string;
  stop(): Promise<void>;
}

/** The server's config: every job scraped (and every rule evaluated) at the one interval. */
export function prometheusConfig(options: Pick<PrometheusOptions, 'jobs' | 'ruleFiles' | 'scrapeIntervalSeconds'>): string {
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  return toYaml({
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: options.jobs.map((job) => ({
      job_name: job.name,
      ...(job.bearerToken ? { authorization: { type: 'Bearer', credentials: job.bearerToken } } : {}),
      static_configs: [{ targets: [job.target] }],
    })),
  });
}

export async function prometheusVersion(binary: string): Promise<string> {
  const result = await run(binary, ['--version'], { timeoutMs: 30_000 });
  return /prometheus, version (\S+)/.exec(result.output)?.[1] ?? 'unknown';
}

export async function startPrometheus(options: PrometheusOptions): Promise<LocalPrometheus> {
  const binary = process.env.PROMETHEUS ?? findDebianTool('prometheus');
  if (!binary) throw new Error('prometheus not found: apt-get install prometheus (npm run setup installs it; it ships promtool), or set PROMETHEUS to its path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-billing-prometheus-'));
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configFile, prometheusConfig(options));
  const version = await prometheusVersion(binary);
  try {
    return await onFreePort(options.port, async (port) => {
      const url = `http://${LOOPBACK}:${port}`;
      const service = await startService(
        {
          name: 'prometheus',
          command: binary,
          args: [
            `--config.file=${configFile}`,
            `--storage.tsdb.path=${path.join(dir, 'data')}`,
            `--web.listen-address=${LOOPBACK}:${port}`,
            '--storage.tsdb.retention.time=1d',
          ],
          log: options.log ?? path.join(dir, 'prometheus.log'),
          stopSignals: ['SIGTERM'],
          emergencySignal: 'SIGKILL',
        },
        async () => {
          const response = await fetch(`${url}/-/ready`);
          if (response.status !== 200) throw new Error(`/-/ready answered ${response.status}`);
        },
        options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      );
      return {
        url,
        port,
        pid: service.pid,
        version,
        dir,
        stop: async () => {
          await service.stop();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    });
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

export interface RangeQuery {
  query: string;
  start: Date;
  end: Date;
  stepSeconds: number;
}

/** A range query's series; throws with Prometheus' own error text when it refuses the query. */
export async function queryRange(prometheusUrl: string, range: RangeQuery): Promise<Array<{ metric: Record<string, string>; values: Array<[number, string]> }>> {
  const params = new URLSearchParams({
    query: range.query,
    start: String(range.start.getTime() / 1000),
    end: String(range.end.getTime() / 1000),
    step: `${range.stepSeconds}s`,
  });
  const response = await fetch(`${prometheusUrl}/api/v1/query_range`, { method: 'POST', body: params });
  const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } };
  if (body.status !== 'success' || !body.data) throw new Error(`Prometheus refused the query (HTTP ${response.status}): ${body.error ?? 'no error text'}`);
  if (body.data.resultType !== 'matrix') throw new Error(`expected a matrix, got ${body.data.resultType}`);
  return body.data.result;
}

/** Health of each scrape target: job, the scrape URL, up or down and the last error. */
export async function scrapeTargets(prometheusUrl: string): Promise<Array<{ job: string; scrapeUrl: string; health: string; lastError: string }>> {
  const response = await fetch(`${prometheusUrl}/api/v1/targets?state=active`);
  const body = (await response.json()) as { data: { activeTargets: Array<{ labels: { job: string }; scrapeUrl: string; health: string; lastError: string }> } };
  return body.data.activeTargets.map((target) => ({ job: target.labels.job, scrapeUrl: target.scrapeUrl, health: target.health, lastError: target.lastError }));
}
