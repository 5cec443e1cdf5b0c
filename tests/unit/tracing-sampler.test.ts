/**
 * Which traces are recorded (platform/tracing.ts): parent-based with a trace-id ratio of
 * DEFAULT_TRACE_SAMPLE_RATIO unless OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG say otherwise, as the
 * OpenTelemetry specification defines those variables; the configuration refuses values the sampler cannot use.
 */
import { context, ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { InMemorySpanExporter, SamplingDecision, SimpleSpanProcessor, type Sampler } from '@opentelemetry/sdk-trace-base';
import { DEFAULT_TRACE_SAMPLE_RATIO, samplerFromEnvironment, startTracing } from '../../platform/tracing';
import { loadConfig } from '../../modules/config';

/** Deterministic trace ids (a fixed linear congruential sequence), so the sampled share is the same on every run. */
function traceIds(count: number): string[] {
  let state = 0x2545f491;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
  return Array.from({ length: count }, () => Array.from({ length: 4 }, () => next().toString(16).padStart(8, '0')).join(''));
}

function sampledShare(sampler: Sampler, parent: Context = ROOT_CONTEXT): number {
  const ids = traceIds(20_000);
  const sampled = ids.filter((id) => sampler.shouldSample(parent, id, 'POST', SpanKind.SERVER, {}, []).decision === SamplingDecision.RECORD_AND_SAMPLED);
  return sampled.length / ids.length;
}

function remoteParent(sampled: boolean): Context {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  });
}

describe('the default sampler (no OTEL_TRACES_SAMPLER)', () => {
  const sampler = samplerFromEnvironment({});

  it('is parentbased_traceidratio at the documented ratio', () => {
    expect(DEFAULT_TRACE_SAMPLE_RATIO).toBe(0.1);
    expect(sampler.toString()).toMatch(/^ParentBased\{root=TraceIdRatioBased\{0\.1\}, /);
  });

  it('records about one new trace in ten', () => {
    const share = sampledShare(sampler);
    expect(share).toBeGreaterThan(0.09);
    expect(share).toBeLessThan(0.11);
  });

  it("follows the caller's decision: every request of a sampled trace, none of an unsampled one", () => {
    expect(sampledShare(sampler, remoteParent(true))).toBe(1);
    expect(sampledShare(sampler, remoteParent(false))).toBe(0);
  });
});

describe('OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG', () => {
  it.each([
    [{ OTEL_TRACES_SAMPLER: 'always_on' }, 'AlwaysOnSampler'],
    [{ OTEL_TRACES_SAMPLER: 'always_off' }, 'AlwaysOffSampler'],
    [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }, 'TraceIdRatioBased{0.25}'],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_always_on' }, /^ParentBased\{root=AlwaysOnSampler, /],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }, /^ParentBased\{root=AlwaysOffSampler, /],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' }, /^ParentBased\{root=TraceIdRatioBased\{0\.5\}, /],
    // The ratio of a ratio sampler named without one: the default's.
    [{ OTEL_TRACES_SAMPLER: 'traceidratio' }, 'TraceIdRatioBased{0.1}'],
    // The specification uses the argument only with a sampler named: alone it changes nothing.
    [{ OTEL_TRACES_SAMPLER_ARG: '1' }, /^ParentBased\{root=TraceIdRatioBased\{0\.1\}, /],
  ])('%j gives %s', (env, expected) => {
    const warnings: string[] = [];
    const described = samplerFromEnvironment(env, (message) => warnings.push(message)).toString();
    if (typeof expected === 'string') expect(described).toBe(expected);
    else expect(described).toMatch(expected);
    expect(warnings).toEqual([]);
  });

  it('falls back to the default, with a warning, on a sampler it does not know or a ratio out of range', () => {
    const warnings: string[] = [];
    expect(samplerFromEnvironment({ OTEL_TRACES_SAMPLER: 'jaeger_remote' }, (m) => warnings.push(m)).toString()).toMatch(/^ParentBased\{root=TraceIdRatioBased\{0\.1\}, /);
    expect(samplerFromEnvironment({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }, (m) => warnings.push(m)).toString()).toBe('TraceIdRatioBased{0.1}');
    expect(warnings).toHaveLength(2);
  });

  it('the configuration refuses them at start, naming the variable', () => {
    expect(() => loadConfig({ ...process.env, OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(/OTEL_TRACES_SAMPLER/);
    expect(() => loadConfig({ ...process.env, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
  });

  it('startTracing takes its sampler from the environment', async () => {
    const saved = { sampler: process.env.OTEL_TRACES_SAMPLER, arg: process.env.OTEL_TRACES_SAMPLER_ARG };
    process.env.OTEL_TRACES_SAMPLER = 'always_off';
    delete process.env.OTEL_TRACES_SAMPLER_ARG;
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ serviceName: 'sampler-test', spanProcessor: new SimpleSpanProcessor(exporter) });
    try {
      expect(tracing.sampler.toString()).toBe('AlwaysOffSampler');
      const span = trace.getTracer('test').startSpan('nothing recorded', {}, context.active());
      expect(span.isRecording()).toBe(false);
      span.end();
      expect(exporter.getFinishedSpans()).toEqual([]);
    } finally {
      await tracing.shutdown();
      if (saved.sampler === undefined) delete process.env.OTEL_TRACES_SAMPLER;
      else process.env.OTEL_TRACES_SAMPLER = saved.sampler;
      if (saved.arg !== undefined) process.env.OTEL_TRACES_SAMPLER_ARG = saved.arg;
    }
  });
});
