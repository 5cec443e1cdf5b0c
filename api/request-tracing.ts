/**
 * The HTTP server span of each API request, when tracing is on (platform/tracing.ts). The sampler decides
 * first, from the caller's W3C `traceparent` (parent-based) and the trace id alone; only a recorded span
 * then gets its attributes and an end listener. An unsampled request costs one header read, a sampling
 * decision and a context switch: no attribute objects, no span processor work, no wrapped listeners.
 *
 * Written here rather than with @opentelemetry/instrumentation-http, which builds every request's
 * attributes (and its HTTP metrics' attribute sets) before sampling and binds each request's and
 * response's event emitters to the context (a closure per listener), sampled or not: with every request
 * recorded that instrumentation cost the API about a fifth of its deducts, and sampling took off only the
 * part that follows the decision (docs/performance.md, "What watching costs").
 */
import type { IncomingHttpHeaders } from 'node:http';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, ProxyTracerProvider, type Context, type Span, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import type { Request, RequestHandler, Response } from 'express';

/** Probes and scrapes every few seconds would be most of the traces and say nothing. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The request's trace context, kept on the request itself: a WeakMap entry per request would be an
 * ephemeron the garbage collector has to process on every scavenge.
 */
const TRACE_CONTEXT = Symbol('traceContext');
type TracedRequest = Request & { [TRACE_CONTEXT]?: Context };

/** Reads W3C trace-context headers straight from Node's lower-cased header object. */
const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  get: (headers, key) => headers[key],
  keys: (headers) => Object.keys(headers),
};

/** Whether a tracer provider is registered (startTracing ran): without one the API mounts no tracing at all. */
export function tracingIsOn(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer('durable-billing-api') !== undefined;
}

/** Starts each request's server span (named `METHOD /route/template` by requestMetrics once routed) and runs the rest in its context. */
export function requestTracing(tracer: Tracer = trace.getTracer('durable-billing-api')): RequestHandler {
  return (req, res, next) => {
    if (UNTRACED_PATHS.has(req.path)) {
      next();
      return;
    }
    const parent = propagation.extract(ROOT_CONTEXT, req.headers, headerGetter);
    const span = tracer.startSpan(req.method, { kind: SpanKind.SERVER }, parent);
    const active = trace.setSpan(parent, span);
    (req as TracedRequest)[TRACE_CONTEXT] = active;
    if (span.isRecording()) {
      recordRequest(span, req);
      // The response's listeners (the request log line, the span's end) run in the request's context, so
      // their log lines carry the trace id. Only recorded requests pay for the wrapped listeners.
      context.bind(active, res);
      res.once('close', () => endSpan(span, res));
    }
    context.with(active, next);
  };
}

/**
 * After a body parser: its callback runs from the socket's events, outside the request's context, so the
 * route handler (and the Temporal calls it makes, which carry the context to workflows) would lose it.
 */
export const resumeRequestTrace: RequestHandler = (req, _res, next) => {
  const active = (req as TracedRequest)[TRACE_CONTEXT];
  if (active) context.with(active, next);
  else next();
};

function recordRequest(span: Span, req: Request): void {
  span.setAttributes({
    'http.request.method': req.method,
    'url.path': req.path,
    'url.scheme': req.protocol,
    'network.protocol.version': req.httpVersion,
    'client.address': req.socket.remoteAddress ?? '',
    'user_agent.original': req.headers['user-agent'] ?? '',
  });
}

function endSpan(span: Span, res: Response): void {
  span.setAttribute('http.response.status_code', res.statusCode);
  if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  // Closed before the response was complete: the client went away (or the connection broke).
  if (!res.writableFinished) span.setAttribute('http.response.aborted', true);
  span.end();
}
