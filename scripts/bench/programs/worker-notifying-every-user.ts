/**
 * Diagnostic only, never a result: the billing worker exactly as worker/main.ts runs it, except that the
 * event relay takes every notice as one to be emailed, so each notice gets its notification run (as for a
 * user with an address) instead of being stored by the relay. The bench's users have no address, so the run
 * then stores the notice and skips the mail: the cost of a notification run without the SMTP send.
 * `BENCH_WORKER_ENTRY=scripts/bench/programs/worker-notifying-every-user.ts npm run bench -- orders`.
 * Compiled programs only (tsx's module exports cannot be replaced).
 */
const notifications = require('../../../modules/events/notifications') as Record<string, unknown>;
notifications.emailWanted = () => true;

require('../../../worker/main');
