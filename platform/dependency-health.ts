/**
 * What the API knows about its dependencies' health, so that during an outage callers get a 503 at
 * once instead of waiting out timeouts, and the log gets one line when a dependency goes down and one
 * when it is back, not one per request.
 *
 * A dependency is marked down by a failure classified as an outage (platform/dependency-errors.ts), or
 * by a failed probe when a failure cannot be classified. While down, a background probe (every
 * `probeIntervalMs`) checks it; the first success marks it up again. This is the "open / half-open /
 * closed" cycle of a circuit breaker with the half-open trial done by the probe rather than by a
 * caller's request, so no caller pays for the trial.
 */
import type { Client } from '@temporalio/client';
import type { Database } from './database';
import type { Logger } from './logger';
import { DependencyUnavailableError, type Dependency } from './dependency-errors';

export interface DependencyMonitorOptions {
  /** Seconds a 503 tells callers to wait (Retry-After). */
  retryAfterSeconds: number;
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
}

export class DependencyMonitor {
  private downSince: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly probeIntervalMs: number;
  private readonly probeTimeoutMs: number;

  constructor(
    readonly dependency: Dependency,
    private readonly check: () => Promise<unknown>,
    private readonly log: Pick<Logger, 'warn' | 'info'>,
    private readonly options: DependencyMonitorOptions,
  ) {
    this.probeIntervalMs = options.probeIntervalMs ?? 1_000;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 2_000;
  }

  get isDown(): boolean {
    return this.downSince !== null;
  }

  get retryAfterSeconds(): number {
    return this.options.retryAfterSeconds;
  }

  /** Fails fast with 503 while the dependency is known to be down. */
  assertAvailable(): void {
    if (this.downSince !== null) throw new DependencyUnavailableError(this.dependency, this.options.retryAfterSeconds);
  }

  /** Records an outage (logged once) and starts probing for the way back. */
  markDown(failure: unknown): void {
    if (this.downSince !== null) return;
    this.downSince = Date.now();
    this.log.warn(
      { dependency: this.dependency, err: failure },
      `${this.dependency} unavailable: answering 503 SERVICE_UNAVAILABLE with Retry-After until it is back`,
    );
    this.scheduleProbe();
  }

  /** For a failure no class or code classifies: is the dependency down right now? Records it if so. */
  async confirmDown(failure: unknown): Promise<boolean> {
    if (this.downSince !== null) return true;
    if (await this.probe()) return false;
    this.markDown(failure);
    return true;
  }

  /** One bounded check: true when the dependency answered. */
  async probe(): Promise<boolean> {
    let timeout: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.check(),
        new Promise((_, reject) => {
          timeout = setTimeout(() => reject(new Error('probe timed out')), this.probeTimeoutMs);
        }),
      ]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timeout);
    }
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private scheduleProbe(): void {
    this.timer = setTimeout(async () => {
      if (await this.probe()) {
        const outageMs = Date.now() - (this.downSince ?? Date.now());
        this.downSince = null;
        this.timer = null;
        this.log.info({ dependency: this.dependency, outageMs }, `${this.dependency} available again`);
      } else {
        this.scheduleProbe();
      }
    }, this.probeIntervalMs);
    // A probe must never keep a stopping process alive.
    this.timer.unref();
  }
}

export interface DependencyHealth {
  database: DependencyMonitor;
  temporal: DependencyMonitor;
  close(): void;
}

/** Monitors for the API's two dependencies, probed with the same calls as /readyz. */
export function createDependencyHealth(
  deps: { db: Database; temporal: Client },
  log: Pick<Logger, 'warn' | 'info'>,
  options: DependencyMonitorOptions,
): DependencyHealth {
  const database = new DependencyMonitor('database', () => deps.db.$queryRaw`SELECT 1`, log, options);
  const temporal = new DependencyMonitor(
    'temporal',
    () => deps.temporal.withDeadline(Date.now() + (options.probeTimeoutMs ?? 2_000), () => deps.temporal.workflowService.getSystemInfo({})),
    log,
    options,
  );
  return {
    database,
    temporal,
    close() {
      database.close();
      temporal.close();
    },
  };
}
