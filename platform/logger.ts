import { trace } from '@opentelemetry/api';
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(component: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'durable-billing', component }, mixin: activeTraceFields });
}

/**
 * trace_id/span_id of the active span on every line, so a log line leads to its trace. With tracing
 * off the OTel API has no context manager: no active span, nothing added.
 */
function activeTraceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
