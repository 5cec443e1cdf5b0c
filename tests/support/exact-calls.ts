/**
 * Calls that keep the answer's exact text next to its parsed body, so a test can say that a replay
 * answered the same bytes as the first answer. Checked against the OpenAPI document like every call.
 */
import { SERVICE_KEY, type TestStack } from './stack';
import { expectDocumentedResponse } from './openapi-conformance';

export interface ExactAnswer<T = any> {
  status: number;
  /** The body exactly as the server sent it. */
  text: string;
  body: T;
}

/** POST as the test service with this Idempotency-Key. */
export async function postExact<T = any>(stack: TestStack, path: string, body: unknown, idempotencyKey: string): Promise<ExactAnswer<T>> {
  const response = await fetch(`${stack.baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SERVICE_KEY}`, 'idempotency-key': idempotencyKey, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  const parsed = contentType.includes('application/json') ? (JSON.parse(text) as T) : (text as T);
  expectDocumentedResponse('POST', path, response.status, contentType, parsed);
  return { status: response.status, text, body: parsed };
}
