/**
 * One request, one trace: the HTTP server span (instrumentation-http), the Temporal client's
 * Update-With-Start span, the workflow's spans and the activity's span all carry the same trace id,
 * exported here to an in-memory exporter (production exports OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set).
 */
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startTracing, type Tracing } from '../infra/tracing';
import { expectLedgerInvariant, grantCredits, newUserId, startStack, type TestStack } from './support/stack';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let stack: TestStack;
beforeAll(async () => {
  tracing = startTracing({ serviceName: 'durable-billing-test', spanProcessor: new SimpleSpanProcessor(exporter), instrumentHttp: true });
  stack = await startStack({ tracing });
});
afterAll(async () => {
  await stack?.close();
  await tracing?.shutdown();
});

it('a reserve request is one trace across the API, the workflow and its activity', async () => {
  const userId = newUserId();
  await grantCredits(stack.db, userId, 10);
  const reserve = await stack.call('POST', '/v1/internal/reservations', { body: { userId, actionKey: 'ai_chat', quantity: 1 } });
  expect(reserve.status).toBe(201);

  // Workflow spans reach the exporter through the worker's sink once the workflow task completes.
  const deadline = Date.now() + 60_000;
  let spans = exporter.getFinishedSpans();
  const server = () => spans.find((span) => span.name === 'POST /v1/internal/reservations');
  const activity = () => spans.find((span) => span.name === 'RunActivity:holdCredits');
  while ((!server() || !activity()) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    spans = exporter.getFinishedSpans();
  }
  const names = spans.map((span) => span.name);
  expect(server()).toBeDefined();
  const traceId = server()!.spanContext().traceId;
  const inTrace = spans.filter((span) => span.spanContext().traceId === traceId).map((span) => span.name);
  expect(inTrace).toEqual(
    expect.arrayContaining([
      'POST /v1/internal/reservations', // API: HTTP server span, named by route template
      'UpdateWithStartWorkflow:reserve', // API: Temporal client
      'HandleUpdate:reserve', // worker: the workflow's update handler
      'StartActivity:holdCredits', // worker: the workflow schedules the activity
      'RunActivity:holdCredits', // worker: the activity
    ]),
  );
  // The client call is a child of the HTTP span (the run's own RunWorkflow span ends when the run does).
  const client = spans.find((span) => span.name === 'UpdateWithStartWorkflow:reserve')!;
  expect(client.parentSpanId).toBe(server()!.spanContext().spanId);
  expect(names).not.toContain('POST'); // every server span is named by its route
  await expectLedgerInvariant(stack.db, userId);
});
