/**
 * The typed client: paths, parameters, bodies and answers come from docs/openapi.json (`schema.d.ts`,
 * written by `npm run sdk:generate`), calls go through openapi-fetch. On top of it, only what every
 * caller would otherwise write again: an Idempotency-Key per mutating call (kept on its retries),
 * bounded retries of 429/503 and lost connections, and refusals thrown as BillingApiError.
 */
import createClient, { type Client, type FetchResponse, type MaybeOptionalInit, type Middleware } from 'openapi-fetch';
import type { HttpMethod, MediaType, PathsWithMethod, RequiredKeysOf } from 'openapi-typescript-helpers';
import { billingApiErrorOf } from './errors';
import { retryingFetch, type RetryOptions } from './retry';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];

/** An operation whose Idempotency-Key the client may fill in: the header is optional, still typed. */
type WithOptionalKey<Operation> = Operation extends { parameters: { header: infer Header } }
  ? Omit<Operation, 'parameters'> & {
      parameters: Omit<Operation['parameters'], 'header'> & { header?: Omit<Header, 'Idempotency-Key'> & { 'Idempotency-Key'?: string } };
    }
  : Operation;

/** The API's paths as this client takes them: as generated, with every Idempotency-Key optional. */
export type BillingPaths = { [P in keyof paths]: { [M in keyof paths[P]]: WithOptionalKey<paths[P][M]> } };

/** The second argument of a call (params, body, ...): required when the operation has required parts. */
export type InitParam<Init> = RequiredKeysOf<Init> extends never ? [(Init & { [key: string]: unknown })?] : [Init & { [key: string]: unknown }];

/** What a successful call answers. */
export type Answer<P extends keyof BillingPaths, M extends HttpMethod, Init = {}> =
  BillingPaths[P][M & keyof BillingPaths[P]] extends infer Operation extends Record<string | number, any>
    ? NonNullable<FetchResponse<Operation, Init, MediaType>['data']>
    : never;

/** One HTTP method: the answer's data, or the refusal thrown as a BillingApiError. */
export type Call<M extends HttpMethod> = <P extends PathsWithMethod<BillingPaths, M>, Init extends MaybeOptionalInit<BillingPaths[P], M>>(
  path: P,
  ...init: InitParam<Init>
) => Promise<Answer<P, M, Init>>;

export interface BillingClientOptions {
  /** The API's origin, e.g. `https://billing.internal`. */
  baseUrl: string;
  /** A service or admin API key, or a user's token: sent as `Authorization: Bearer <credential>`. */
  credential?: string;
  retry?: RetryOptions;
  /** The fetch to send with (default: the global one). */
  fetch?: typeof fetch;
  /** Makes the Idempotency-Key of a call that brings none (default: a random UUID). */
  newIdempotencyKey?: () => string;
}

export interface BillingClient {
  get: Call<'get'>;
  post: Call<'post'>;
  put: Call<'put'>;
  patch: Call<'patch'>;
  delete: Call<'delete'>;
  /** The openapi-fetch client underneath (same keys and retries), for a caller that reads `{ data, error, response }` itself. */
  raw: Client<BillingPaths>;
}

/** The methods the API requires an Idempotency-Key on (docs/api.md, "Idempotency"). */
const KEYED_METHODS = new Set(['POST', 'PATCH', 'DELETE']);

/** One key per call, made before the first attempt: the retries below it send the same request, key included. */
function idempotencyKeys(newKey: () => string): Middleware {
  return {
    onRequest({ request }) {
      if (KEYED_METHODS.has(request.method) && !request.headers.has('idempotency-key')) request.headers.set('Idempotency-Key', newKey());
      return request;
    },
  };
}

export function createBillingClient(options: BillingClientOptions): BillingClient {
  const raw = createClient<BillingPaths>({
    baseUrl: options.baseUrl,
    fetch: retryingFetch(options.fetch ?? globalThis.fetch, options.retry),
    ...(options.credential === undefined ? {} : { headers: { Authorization: `Bearer ${options.credential}` } }),
  });
  raw.use(idempotencyKeys(options.newIdempotencyKey ?? (() => crypto.randomUUID())));
  return {
    get: throwing(raw, 'GET'),
    post: throwing(raw, 'POST'),
    put: throwing(raw, 'PUT'),
    patch: throwing(raw, 'PATCH'),
    delete: throwing(raw, 'DELETE'),
    raw,
  };
}

type RawCall = (path: string, init?: unknown) => Promise<{ data?: unknown; error?: unknown; response: Response }>;

function throwing<M extends HttpMethod>(raw: Client<BillingPaths>, method: Uppercase<M>): Call<M> {
  const send = raw[method as 'GET'] as unknown as RawCall;
  const call = async (path: string, init?: unknown) => {
    const { data, error, response } = await send(path, init);
    if (response.ok) return data;
    throw billingApiErrorOf(response, error);
  };
  return call as unknown as Call<M>;
}
