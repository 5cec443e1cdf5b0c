import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/**
 * OpenTelemetry tracing for one process (API or worker). Started only when OTEL_EXPORTER_OTLP_ENDPOINT
 * is set (or a test passes its own span processor): otherwise nothing is registered, the OTel API
 * hands out no-op spans and the HTTP server is not instrumented, so tracing costs nothing.
 *
 * Spans: the HTTP server span (api/request-tracing.ts, mounted by the API when a provider is registered;
 * named by route template once routed), the
 * Temporal client's spans (StartWorkflow / UpdateWithStart ...), the workflow's and its activities'
 * spans (the SDK's OpenTelemetry interceptors, wired in worker/create-worker.ts). The W3C trace
 * context travels in Temporal headers, so one request is one trace across API, workflow and activity.
 */
export interface Tracing {
  resource: Resource;
  /** The sampler in force (its toString() names it, e.g. `ParentBased{root=TraceIdRatioBased{0.1}, ...}`). */
  sampler: Sampler;
  spanProcessor: SpanProcessor;
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  serviceName: string;
  /** Defaults to a batching OTLP/HTTP exporter configured by the OTEL_EXPORTER_OTLP_* variables. */
  spanProcessor?: SpanProcessor;
  /** Defaults to samplerFromEnvironment(process.env). */
  sampler?: Sampler;
}

/**
 * Share of new traces recorded when OTEL_TRACES_SAMPLER is unset. A service doing thousands of deducts a
 * second per process still records hundreds of traces a second at 10 %, ample for latency and error
 * analysis, while a recorded request's span work (attributes, export) is paid by one request in ten: with
 * every request recorded the API lost about 20 % of its deducts (docs/performance.md, target 12).
 */
export const DEFAULT_TRACE_SAMPLE_RATIO = 0.1;

/**
 * The sampler the OpenTelemetry environment variables ask for (OTEL_TRACES_SAMPLER: always_on, always_off,
 * traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio; OTEL_TRACES_SAMPLER_ARG:
 * the ratio of the two ratio samplers, as the specification says). Unset, the default is
 * parentbased_traceidratio at DEFAULT_TRACE_SAMPLE_RATIO: a caller's sampling decision (W3C traceparent) is
 * followed, so a trace is whole or absent, and new traces are recorded at that ratio. An unknown sampler
 * name or an unusable ratio falls back to this default, with a warning, rather than to recording everything.
 */
export function samplerFromEnvironment(env: NodeJS.ProcessEnv, warn: (message: string) => void = () => {}): Sampler {
  const name = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() || 'parentbased_traceidratio';
  const ratio = () => {
    const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
    if (!env.OTEL_TRACES_SAMPLER?.trim() || arg === undefined || arg === '') return DEFAULT_TRACE_SAMPLE_RATIO;
    const value = Number(arg);
    if (Number.isFinite(value) && value >= 0 && value <= 1) return value;
    warn(`OTEL_TRACES_SAMPLER_ARG=${arg} is not a ratio between 0 and 1: using ${DEFAULT_TRACE_SAMPLE_RATIO}`);
    return DEFAULT_TRACE_SAMPLE_RATIO;
  };
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio());
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    default:
      warn(`OTEL_TRACES_SAMPLER=${env.OTEL_TRACES_SAMPLER} is not a sampler this service knows: using parentbased_traceidratio at ${DEFAULT_TRACE_SAMPLE_RATIO}`);
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(DEFAULT_TRACE_SAMPLE_RATIO) });
  }
}

export function startTracing(options: TracingOptions): Tracing {
  const resource = new Resource({ 'service.name': options.serviceName });
  const spanProcessor = options.spanProcessor ?? new BatchSpanProcessor(new OTLPTraceExporter());
  const sampler = options.sampler ?? samplerFromEnvironment(process.env, (message) => process.emitWarning(message, 'TracingConfig'));
  const provider = new NodeTracerProvider({ resource, sampler, spanProcessors: [spanProcessor] });
  provider.register(); // global tracer provider, W3C trace-context propagator, AsyncLocalStorage context
  return {
    resource,
    sampler,
    spanProcessor,
    async shutdown() {
      await provider.shutdown();
      trace.disable();
    },
  };
}
