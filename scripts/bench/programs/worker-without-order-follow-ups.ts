/**
 * Diagnostic only, never a result: the billing worker exactly as worker/main.ts runs it, minus what a paid
 * order sets off after its own run — the event relay (so no notification workflow per event) and the
 * lifecycle timers the order's `track_lifecycle` step starts (its package's and its subscription's).
 * `BENCH_WORKER_ENTRY=scripts/bench/programs/worker-without-order-follow-ups.ts npm run bench -- orders`
 * shows how much of an order's cost (worker, Temporal) is those follow-ups rather than the order's own
 * steps. Compiled programs only (tsx's module exports cannot be replaced).
 */
import { LifecycleTimers } from '../../../modules/lifecycle/timers';

process.env.EVENTS_RELAY_ENABLED = 'false';
const timers = LifecycleTimers.prototype as unknown as Record<string, unknown>;
timers.trackPackage = async () => true;
timers.subscriptionPeriodChanged = async () => undefined;
timers.subscriptionStarted = async () => undefined;

require('../../../worker/main');
