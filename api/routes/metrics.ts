import { createHash, timingSafeEqual } from 'node:crypto';
import type { Router } from 'express';
import { BillingError } from '../../platform/errors';
import { cachedRead, metricsRegistry, sampledGauge } from '../../platform/metrics';
import { openHolds, type OpenHolds, registerOperationsGauges } from '../../modules/reports';
import type { ApiDeps } from '../deps';

/**
 * GET /metrics: Prometheus text for this API process. Not public: the series show business volumes
 * (deducts, refusals, credits held), which competitors and attackers should not read. Prometheus
 * scrapes it with a read-only bearer token from METRICS_TOKENS; an admin key works too (for an
 * operator's curl). Service keys and user tokens get 403. Kept on the API port so one ingress rule,
 * one TLS setup and one credential model cover it (docs/operations.md → Metrics).
 */
export function mountMetrics(router: Router, deps: ApiDeps, metricsTokens: string[]): void {
  registerHoldGauges(deps);
  const tokenDigests = metricsTokens.map(sha256);
  router.get('/metrics', async (req, res) => {
    const header = req.get('authorization');
    const bearer = /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
    if (!(bearer && isMetricsToken(bearer, tokenDigests))) {
      const principal = await deps.authenticator.authenticate(header);
      if (!principal) throw new BillingError('UNAUTHENTICATED', '/metrics needs a metrics token or an admin key: Authorization: Bearer <token>.');
      if (principal.role !== 'admin') throw new BillingError('FORBIDDEN', `/metrics is not available to ${principal.role} credentials.`);
    }
    res.type(metricsRegistry.contentType).send(await metricsRegistry.metrics());
  });
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function isMetricsToken(candidate: string, digests: Buffer[]): boolean {
  const digest = sha256(candidate);
  return digests.reduce((found, known) => timingSafeEqual(digest, known) || found, false);
}

let holdsSource: ApiDeps['db'] | undefined;
let holdGaugesRegistered = false;

/**
 * Reservation holds open, read from PostgreSQL at scrape time (one aggregate query): the database is the
 * truth, so every replica reports the same number (aggregate with max, not sum). Registered once per
 * process; the latest app's database is used (tests build several apps in one process).
 */
function registerHoldGauges(deps: ApiDeps): void {
  holdsSource = deps.db;
  if (holdGaugesRegistered) return;
  holdGaugesRegistered = true;
  registerOperationsGauges(() => holdsSource!);
  // The registry collects all gauges at once: they share one query, reused for SCRAPE_READ_TTL_MS. Database
  // down: the gauges keep their last values; /readyz says why.
  const read = cachedRead(() => openHolds(holdsSource!));
  const gauge = (name: string, help: string, value: (holds: OpenHolds) => number) =>
    sampledGauge(name, help, [], async (g) => {
      const holds = await read();
      if (holds) g.set(value(holds));
    });
  gauge('billing_reservation_holds_open', 'Reservations currently holding credits (status held).', (h) => h.held);
  gauge('billing_reservation_credits_held', 'Credits held by open reservations.', (h) => h.creditsHeld);
  gauge(
    'billing_reservation_holds_past_deadline',
    'Held reservations whose deadline passed over a minute ago (not released: no worker, or a stuck run).',
    (h) => h.pastDeadline,
  );
}
