import { Client, Connection } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client';

/** `traced`: spans around each workflow call, with the trace context passed to the workflow in headers (infra/tracing.ts). */
export async function connectTemporal(address: string, namespace: string, options: { traced?: boolean } = {}): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({
    connection,
    namespace,
    ...(options.traced ? { interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } } : {}),
  });
}
