/**
 * The request id and the one log line per request: what pino-http did, at a fraction of its cost on the
 * hot path (docs/performance.md, target 2). pino-http built a child logger with the serialised, redacted request
 * (headers included) on every request, whatever the log level; here the request's logger is built
 * only when something asks for it (`req.log`), and the line at the end of the response is written only
 * when its level is enabled.
 *
 * - `X-Request-Id`: the caller's when it is a safe token (1-128 of [A-Za-z0-9_.-]), else a new UUID;
 *   answered in the response header, and `req.id`.
 * - `req.log`: a child logger bound to `req: { id, method, url }`; handlers add bindings to it
 *   (`setBindings`, e.g. the workflow a request reached), and the request's last line carries them.
 * - The last line, at `info`, when the response ends: `req` (id, method, url), `res: { statusCode }`,
 *   `responseTime` (ms), message `request completed` (`request errored` for 5xx, `request aborted`
 *   when the connection closed first). Health probes and /metrics are not logged. No headers are
 *   logged, so no credential can reach the log.
 */
import { randomUUID } from 'node:crypto';
import type { Express, RequestHandler } from 'express';
import type { Logger } from '../platform/logger';

declare module 'http' {
  interface IncomingMessage {
    /** The request id (X-Request-Id), set by requestLogging. */
    id: string;
    /** This request's logger (bound to its id, method and url), built on first use. */
    log: Logger;
  }
}

const SAFE_REQUEST_ID = /^[\w.-]{1,128}$/;
/** Probes every few seconds would drown the log. */
const UNLOGGED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
const REQUEST_LOGGER = Symbol('requestLogger');
const STARTED_AT = Symbol('startedAt');
const LOGGER_OF_APP = Symbol('appLogger');

type LoggedRequest = import('express').Request & { [REQUEST_LOGGER]?: Logger; [STARTED_AT]?: number; [LOGGER_OF_APP]?: Logger };

/**
 * Installs `req.log` on the app's request prototype (a getter: no per-request closure or property
 * definition) and returns the middleware that assigns the id and logs the end of each request.
 */
export function requestLogging(app: Express, logger: Logger): RequestHandler {
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: LoggedRequest): Logger {
      return (this[REQUEST_LOGGER] ??= logger.child({ req: { id: this.id, method: this.method, url: this.originalUrl } }));
    },
  });

  return (req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.id = id;
    res.setHeader('x-request-id', id);
    if (logger.isLevelEnabled('info') && !UNLOGGED_PATHS.has(req.path)) {
      (req as LoggedRequest)[STARTED_AT] = performance.now();
      (req as LoggedRequest)[LOGGER_OF_APP] = logger;
      res.once('close', logCompletion);
    }
    next();
  };
}

/** 'close' is emitted once per response, after 'finish' when the response was sent in full. */
function logCompletion(this: import('express').Response): void {
  const req = this.req as LoggedRequest;
  const responseTime = Math.round(performance.now() - (req[STARTED_AT] ?? 0));
  const res = { statusCode: this.statusCode };
  const message = !this.writableFinished ? 'request aborted' : this.statusCode >= 500 ? 'request errored' : 'request completed';
  // The request's own logger when a handler used it (its bindings belong on this line), else one line
  // from the app's logger with the same fields.
  const own = req[REQUEST_LOGGER];
  if (own) own.info({ res, responseTime }, message);
  else req[LOGGER_OF_APP]!.info({ req: { id: req.id, method: req.method, url: req.originalUrl }, res, responseTime }, message);
}
