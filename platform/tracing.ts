import { trace } from '@opentelemetry/api';
import { isWrapped, registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/**
 * OpenTelemetry tracing for one process (API or worker). Started only when OTEL_EXPORTER_OTLP_ENDPOINT
 * is set (or a test passes its own span processor): otherwise nothing is registered, the OTel API
 * hands out no-op spans and the HTTP server is not instrumented, so tracing costs nothing.
 *
 * Spans: the HTTP server span (instrumentation-http; the router names it by route template), the
 * Temporal client's spans (StartWorkflow / UpdateWithStart ...), the workflow's and its activities'
 * spans (the SDK's OpenTelemetry interceptors, wired in worker/create-worker.ts). The W3C trace
 * context travels in Temporal headers, so one request is one trace across API, workflow and activity.
 */
export interface Tracing {
  resource: Resource;
  spanProcessor: SpanProcessor;
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  serviceName: string;
  /** Defaults to a batching OTLP/HTTP exporter configured by the OTEL_EXPORTER_OTLP_* variables. */
  spanProcessor?: SpanProcessor;
  /** Instrument Node's HTTP server (the API). The worker has no HTTP server to trace. */
  instrumentHttp?: boolean;
}

export function startTracing(options: TracingOptions): Tracing {
  const resource = new Resource({ 'service.name': options.serviceName });
  const spanProcessor = options.spanProcessor ?? new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register(); // global tracer provider, W3C trace-context propagator, AsyncLocalStorage context
  let unregister = () => {};
  if (options.instrumentHttp) {
    const http = new HttpInstrumentation({
      // Probes and scrapes every few seconds would be most of the traces and say nothing.
      ignoreIncomingRequestHook: (req) => ['/healthz', '/readyz', '/metrics'].includes(req.url ?? ''),
      // The API's own outgoing HTTP is the OTLP exporter itself: tracing it would loop.
      disableOutgoingRequestInstrumentation: true,
    });
    unregister = registerInstrumentations({ tracerProvider: provider, instrumentations: [http] });
    // The instrumentation patches `http` through Node's require hook when it is next required. Module
    // loaders that bypass that hook (jest's), or `http` loaded before tracing started, would leave the
    // server untraced: patch the loaded module directly then (the same patch, applied once).
    const loaded: typeof import('node:http') = require('node:http');
    if (!isWrapped(loaded.Server.prototype.emit)) {
      const definition = http.getModuleDefinitions().find((candidate) => candidate.name === 'http');
      definition?.patch?.(loaded);
      if (definition) definition.moduleExports = loaded; // so that shutdown unpatches it
    }
  }
  return {
    resource,
    spanProcessor,
    async shutdown() {
      unregister();
      await provider.shutdown();
      trace.disable();
    },
  };
}
