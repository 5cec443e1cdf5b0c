import { Client, Connection } from '@temporalio/client';

/**
 * gRPC reconnect backoff capped at 2 s (grpc-js defaults grow to 120 s): after a Temporal server
 * restart the API reconnects within seconds instead of answering 503 for minutes.
 */
export const TEMPORAL_CHANNEL_ARGS = {
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 2_000,
} as const;

/** `traced`: spans around each workflow call, with the trace context passed to the workflow in headers (platform/tracing.ts). */
export async function connectTemporal(address: string, namespace: string, options: { traced?: boolean } = {}): Promise<Client> {
  const connection = await Connection.connect({ address, channelArgs: TEMPORAL_CHANNEL_ARGS });
  // Loaded only when tracing is on: with tracing off the process never loads the OpenTelemetry SDK.
  const interceptors = options.traced
    ? { workflow: [new (await import('@temporalio/interceptors-opentelemetry/lib/client')).OpenTelemetryWorkflowClientInterceptor()] }
    : undefined;
  return new Client({ connection, namespace, ...(interceptors ? { interceptors } : {}) });
}
