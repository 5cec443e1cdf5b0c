/**
 * One request, one trace: the HTTP server span (api/request-tracing.ts), the Temporal client's span
 * (a start, an update), the workflow's spans and the activity's span all carry the same trace id,
 * exported here to an in-memory exporter (production exports OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set).
 */
import { AlwaysOnSampler, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startTracing, type Tracing } from '../platform/tracing';
import { expectLedgerInvariant, grantCredits, newUserId, startStack, type TestStack } from './support/stack';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let stack: TestStack;
beforeAll(async () => {
  tracing = startTracing({ serviceName: 'durable-billing-test', spanProcessor: new SimpleSpanProcessor(exporter), sampler: new AlwaysOnSampler() });
  stack = await startStack({ tracing });
});
afterAll(async () => {
  await stack?.close();
  await tracing?.shutdown();
});

it('a commit request is one trace across the API, the workflow and its activity; a reserve\'s start is in its request\'s trace', async () => {
  const userId = newUserId();
  await grantCredits(stack.db, userId, 10);
  const reserve = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity: 1 } });
  expect(reserve.status).toBe(201);
  const commit = await stack.call('POST', `/v1/internal/reservations/${reserve.body.id}/commit`, { body: {} });
  expect(commit.status).toBe(200);

  // Workflow spans reach the exporter through the worker's sink once the workflow task completes.
  const deadline = Date.now() + 60_000;
  let spans = exporter.getFinishedSpans();
  const server = (route: string) => spans.find((span) => span.name === route);
  const activity = () => spans.find((span) => span.name === 'RunActivity:commitReservation');
  while ((!server('POST /v1/internal/reservations/:reservationId/commit') || !activity()) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    spans = exporter.getFinishedSpans();
  }
  const names = spans.map((span) => span.name);
  const inTraceOf = (route: string) => {
    const traceId = server(route)!.spanContext().traceId;
    return spans.filter((span) => span.spanContext().traceId === traceId);
  };
  // The reserve: the API places the hold and starts the run; the client's start is a child of the HTTP span.
  const reserveTrace = inTraceOf('POST /v1/internal/reservations');
  const start = reserveTrace.find((span) => span.name === 'StartWorkflow:reservationWorkflow');
  expect(start?.parentSpanId).toBe(server('POST /v1/internal/reservations')!.spanContext().spanId);
  expect(inTraceOf('POST /v1/internal/reservations/:reservationId/commit').map((span) => span.name)).toEqual(
    expect.arrayContaining([
      'POST /v1/internal/reservations/:reservationId/commit', // API: HTTP server span, named by route template
      'StartWorkflowUpdate:commit', // API: Temporal client
      'HandleUpdate:commit', // worker: the workflow's update handler
      'RunActivity:commitReservation', // worker: the (local) activity
    ]),
  );
  expect(names).not.toContain('POST'); // every server span is named by its route
  await expectLedgerInvariant(stack.db, userId);
});
