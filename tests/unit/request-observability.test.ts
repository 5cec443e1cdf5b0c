/**
 * What every API request pays for being watched (api/edge.ts requestMetrics, api/request-tracing.ts):
 * the request histogram counts each request once under its route template, method and status, on series
 * bound once per combination; with tracing on, a request the sampler leaves out records nothing yet keeps
 * its trace context through the body parser (so calls it makes carry it), and a sampled caller's request is
 * recorded as a child of the caller's span, named by its route.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { AlwaysOffSampler, InMemorySpanExporter, ParentBasedSampler, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import { Histogram, Registry } from 'prom-client';
import { RequestDurationSeries, requestMetrics } from '../../api/edge';
import { requestTracing, resumeRequestTrace, tracingIsOn } from '../../api/request-tracing';
import { startTracing, type Tracing } from '../../platform/tracing';
import { waitFor } from '../support/wait';

const registry = new Registry();
const histogram = new Histogram({ name: 'test_http_request_duration_seconds', help: 'test', labelNames: ['method', 'route', 'status'] as const, registers: [registry] });
let bindings = 0;
const series = new RequestDurationSeries({
  labels: (method, route, status) => {
    bindings++;
    return histogram.labels(method, route, status);
  },
});

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let server: Server;
let baseUrl: string;
/** Trace ids the handlers saw active, by request id. */
const seen = new Map<string, { traceId: string; recording: boolean } | undefined>();

beforeAll(async () => {
  expect(tracingIsOn()).toBe(false);
  // No new trace is recorded; a sampled caller's trace is followed.
  tracing = startTracing({ serviceName: 'request-observability-test', spanProcessor: new SimpleSpanProcessor(exporter), sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }) });
  expect(tracingIsOn()).toBe(true);
  const templateOf = (req: express.Request) => (typeof req.route?.path === 'string' ? req.route.path : req.path === '/healthz' ? '/healthz' : 'unmatched');
  const app = express();
  app.use(requestTracing());
  app.use(requestMetrics(templateOf, series));
  const remember = (req: express.Request) => {
    const span = trace.getActiveSpan();
    seen.set(String(req.headers['x-request-id']), span && { traceId: span.spanContext().traceId, recording: span.isRecording() });
  };
  app.get('/healthz', (req, res) => {
    remember(req);
    res.send('ok');
  });
  app.post('/things', express.json(), resumeRequestTrace, (req, res) => {
    remember(req);
    res.status(201).json({ id: 'thing-1' });
  });
  app.get('/things/:thingId', (req, res) => {
    remember(req);
    res.status(req.params.thingId === 'missing' ? 404 : 200).json({});
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await tracing?.shutdown();
});

async function call(method: string, path: string, requestId: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { 'x-request-id': requestId, 'content-type': 'application/json', ...headers },
    ...(method === 'POST' ? { body: JSON.stringify({ name: 'a thing' }) } : {}),
  });
  await response.arrayBuffer();
  return response.status;
}

async function count(method: string, route: string, status: string): Promise<number> {
  const { values } = await histogram.get();
  const found = values.find((v) => v.metricName === 'test_http_request_duration_seconds_count' && v.labels.method === method && v.labels.route === route && v.labels.status === status);
  return found?.value ?? 0;
}

it('counts each request once under its route template, method and status, binding each series once', async () => {
  for (let i = 0; i < 5; i++) expect(await call('POST', '/things', `post-${i}`)).toBe(201);
  for (let i = 0; i < 3; i++) expect(await call('GET', `/things/raw-id-${i}`, `get-${i}`)).toBe(200);
  for (let i = 0; i < 2; i++) expect(await call('GET', '/things/missing', `missing-${i}`)).toBe(404);
  expect(await call('GET', '/nowhere/at/all', 'unmatched')).toBe(404);

  expect(await count('POST', '/things', '201')).toBe(5);
  expect(await count('GET', '/things/:thingId', '200')).toBe(3);
  expect(await count('GET', '/things/:thingId', '404')).toBe(2);
  expect(await count('GET', 'unmatched', '404')).toBe(1);
  // The raw path never becomes a label value.
  expect(await registry.metrics()).not.toContain('raw-id');
  // Four combinations, eleven requests: one binding each.
  expect(bindings).toBe(4);
});

it('records nothing for a request the sampler leaves out, yet keeps its trace context past the body parser', async () => {
  exporter.reset();
  expect(await call('POST', '/things', 'unsampled')).toBe(201);
  const context = seen.get('unsampled');
  expect(context?.recording).toBe(false);
  expect(context?.traceId).toMatch(/^[0-9a-f]{32}$/);
  expect(context?.traceId).not.toBe('0'.repeat(32));
  expect(exporter.getFinishedSpans()).toEqual([]);
});

it("records a sampled caller's request as a child of the caller's span, named by its route", async () => {
  exporter.reset();
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  expect(await call('POST', '/things', 'sampled', { traceparent })).toBe(201);
  expect(seen.get('sampled')).toEqual({ traceId: '0af7651916cd43dd8448eb211c80319c', recording: true });
  // The span ends when the response closes, just after the client has it.
  const [span] = await waitFor(() => exporter.getFinishedSpans().length > 0 && exporter.getFinishedSpans(), 30_000, 'the server span');
  expect(span?.name).toBe('POST /things');
  expect(span?.parentSpanId).toBe('b7ad6b7169203331');
  expect(span?.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/things', 'http.response.status_code': 201 });
});

it('does not trace probes, even for a sampled caller', async () => {
  exporter.reset();
  expect(await call('GET', '/healthz', 'probe', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })).toBe(200);
  // No span was started for it: none was active in its handler (so none can end later).
  expect(seen.has('probe')).toBe(true);
  expect(seen.get('probe')).toBeUndefined();
});
