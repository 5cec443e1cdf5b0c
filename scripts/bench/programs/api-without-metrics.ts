/**
 * The API exactly as api/main.ts runs it, minus the metrics middleware (api/edge.ts requestMetrics and
 * refusalMetrics: the per-request histogram and the refusal counter): the "metrics off" side of the `edge`
 * scenario (scripts/bench/scenarios/edge.ts). The bench-only switch lives here, not in the production code:
 * the two factories are replaced on the edge module before api/main.ts loads api/app.ts, which looks them
 * up at call time. /metrics itself stays mounted (nothing scrapes it on this side).
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import * as edge from '../../../api/edge';

const passThrough = (): RequestHandler => (_req, _res, next) => next();
const passErrorOn = (): ErrorRequestHandler => (error, _req, _res, next) => next(error);

const mutableEdge = edge as unknown as Record<string, unknown>;
try {
  mutableEdge.requestMetrics = passThrough;
  mutableEdge.refusalMetrics = passErrorOn;
} catch {
  // (reported below)
}
if (mutableEdge.requestMetrics !== passThrough || mutableEdge.refusalMetrics !== passErrorOn) {
  // Modules compiled by tsc (BENCH_RUNTIME=compiled, the default) have assignable exports; tsx's have getters.
  process.stderr.write('api-without-metrics: could not replace the metrics middleware (run the bench with compiled programs)\n');
  process.exit(1);
}

require('../../../api/main');
