/**
 * A typed client of the API, generated from docs/openapi.json: `schema.d.ts` is written by
 * `npm run console:types` (openapi-typescript) and the calls go through openapi-fetch, so a path, a
 * parameter or a body the API does not take is a type error. Every mutating call's type requires its
 * `Idempotency-Key` header, as the API does.
 */
import createClient from 'openapi-fetch';
import type { components, paths } from './schema';
import type { Session } from '../session';

export type Schemas = components['schemas'];
export type Client = ReturnType<typeof createApiClient>;

/** A refusal of the API (its error envelope), or a failure to reach it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly requestId: string | null = null,
  ) {
    super(message);
  }
}

export function createApiClient(session: Session) {
  const client = createClient<paths>({ baseUrl: '' });
  client.use({
    onRequest({ request }) {
      const credential = session.get();
      if (credential) request.headers.set('Authorization', `Bearer ${credential}`);
      return request;
    },
    onResponse({ response }) {
      // A key that stopped working (rotated, or a user token past its exp) ends the session: the page
      // asks for a credential again and says why.
      if (response.status === 401 && session.get() !== undefined) session.set(undefined, 'The API no longer accepts this credential (401).');
      return response;
    },
  });
  return client;
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The answer's data, or the API's refusal thrown as an ApiError (its message is what pages show). */
export async function ok<T>(call: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await call;
  } catch (error) {
    throw new ApiError(0, 'NETWORK', `The API could not be reached: ${(error as Error).message}`);
  }
  const { data, error, response } = answer;
  if (response.ok) return data as T;
  throw refusalOf(response, error);
}

export function refusalOf(response: Response, body: unknown): ApiError {
  const requestId = response.headers.get('x-request-id');
  const envelope = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (envelope && typeof envelope.code === 'string' && typeof envelope.message === 'string') {
    return new ApiError(response.status, envelope.code, envelope.message, (envelope.details as Record<string, unknown>) ?? {}, requestId);
  }
  return new ApiError(response.status, 'HTTP_' + response.status, `The API answered ${response.status} ${response.statusText}.`, {}, requestId);
}

export function asApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, 'CLIENT', (error as Error)?.message ?? String(error));
}

/** A key for one intended change: random, so two changes never share one, and kept by the form that made it. */
export function newIdempotencyKey(): string {
  // getRandomValues, not randomUUID: the latter needs a secure context, and the console may be served over plain http inside a network.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return 'console-' + Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
