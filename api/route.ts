import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request, RequestHandler } from 'express';
import { z } from '../platform/zod';
import { BillingError } from '../platform/errors';
import type { Idempotency } from '../platform/idempotency/key-reuse';
import { firstUnstorablePart } from '../platform/storable-json';
import { idempotencyKeySchema } from '../platform/idempotency/key';
import { requestFingerprint } from '../platform/idempotency/fingerprint';
import { requestPrincipal, type Principal, type Role } from './auth';
import { validationError } from './errors';
import type { ApiDeps } from './deps';
import type { Logger } from '../platform/logger';

/**
 * One table of endpoints drives the Express router, the OpenAPI document and the access-matrix tests,
 * so the three cannot drift apart.
 */
type Access = 'public' | Role[];

interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal | undefined;
  /** Present on mutating routes: the caller's Idempotency-Key, scoped to the credential. */
  idempotency: Idempotency;
  deps: ApiDeps;
  /** The request's logger (`req.log` over HTTP; the gRPC call's over gRPC, api/grpc/server.ts). */
  log: Logger;
  /** The Express request; routes served over gRPC too (api/grpc/methods.ts) must not read it. */
  req: Request;
  /** The body as received, on routes declared with `rawBody: true` (signature checks need the exact bytes). */
  rawBody: Buffer | undefined;
}

interface ResultMeta {
  status?: number;
  /** Set when an idempotent retry returned the stored first answer. */
  replayed?: boolean;
  headers?: Record<string, string>;
  /**
   * The body's exact JSON text, when the handler already has it (the deduct's stored answer): sent as
   * is, without serialising `body` again (and without an ETag, which an answer to a write never needs).
   */
  bodyText?: string;
}

/** A JSON answer typed by the route's response schema (a mismatch fails type-checking), or a streamed one (CSV). */
type RouteResult<T = unknown> = ResultMeta & ({ body: T } | { stream: Readable; contentType: string });

export interface RouteDefinition<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express syntax, e.g. /v1/internal/reservations/:reservationId */
  path: string;
  access: Access;
  /**
   * The operation's stable name for generated clients: verb-noun camelCase (`createReservation`,
   * `listMyOrders`), unique in the table (tests/unit/openapi-product.test.ts). Renaming one breaks
   * every client generated from the document: treat it like a path.
   */
  operationId: string;
  /** One line, a title for the operation. */
  summary: string;
  /** What the operation does and answers, its rules and refusals (Markdown). */
  description: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  /** Response schema for the success status: documents the route and types its handler's answer. */
  response: R;
  successStatus?: number;
  /** Mutating routes require an Idempotency-Key header. */
  idempotent?: boolean;
  /** Extra documented error codes besides the ones every route can answer. */
  errors?: string[];
  produces?: 'application/json' | 'text/csv' | 'application/pdf';
  /** Hand the handler the raw body instead of parsed JSON (webhooks verifying a signature); `body` then only documents it. */
  rawBody?: boolean;
  /**
   * Shown in the OpenAPI document; a test parses each with the route's own schemas, so they cannot
   * drift. `request` is required when the route takes a body.
   */
  examples: { request?: z.input<B>; response: z.input<R> };
  /**
   * Why an answer carrying `items` is not a list to page with `limit` and `cursor` (a report, or a
   * resource's own bounded parts). Every other list pages (docs/api.md, "Pagination").
   */
  unpaged?: string;
  handler: (ctx: RouteContext<z.infer<P>, z.infer<Q>, z.infer<B>>) => Promise<RouteResult<z.input<R>>>;
}

export function defineRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(
  route: RouteDefinition<P, Q, B, R>,
): RouteDefinition {
  return route as unknown as RouteDefinition;
}

/** Deeper than any request the API defines; bounds the work of storing a body (metadata) as jsonb. */
const MAX_BODY_DEPTH = 64;

export function parsePart<T extends z.ZodType>(schema: T | undefined, value: unknown, where: 'params' | 'query' | 'body'): z.infer<T> {
  if (!schema) return undefined as z.infer<T>;
  // Every text the API accepts is one the database can store (platform/storable-json.ts).
  const unstorable = firstUnstorablePart(value, MAX_BODY_DEPTH);
  if (unstorable) {
    throw new BillingError('VALIDATION_FAILED', `Invalid request ${where}.`, {
      issues: [{ path: [where, ...unstorable.path].join('.'), message: unstorable.message }],
    });
  }
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw validationError(result.error, where);
  return result.data;
}

export function authorize(route: RouteDefinition, principal: Principal | undefined): void {
  if (route.access === 'public') return;
  if (!principal) throw new BillingError('UNAUTHENTICATED', 'This endpoint needs a credential: Authorization: Bearer <credential>.');
  if (!route.access.includes(principal.role)) {
    throw new BillingError('FORBIDDEN', `This endpoint is not available to ${principal.role} credentials.`);
  }
}

/**
 * A body in another media type than JSON would be skipped by the JSON parser and read as empty: refuse
 * it (415) rather than act on a request the caller did not mean. Requests without a body pass.
 */
function refuseForeignMediaType(route: RouteDefinition, req: Request): void {
  if (!route.body) return; // a body sent to an endpoint that takes none is ignored
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!hasBody || req.is('application/json')) return;
  throw new BillingError('UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json.', {
    contentType: req.get('content-type') ?? null,
  });
}

/**
 * The idempotency of a call: on mutating routes the caller's key (HTTP header or gRPC metadata
 * `idempotency-key`), scoped to the credential, and a fingerprint of the route and the parsed request,
 * so a key used over HTTP and over gRPC names one change either way.
 */
export function routeIdempotency(
  route: RouteDefinition,
  principal: Principal | undefined,
  header: string | undefined,
  params: unknown,
  body: unknown,
): Idempotency {
  if (!route.idempotent) return { scope: '', key: '', requestHash: '' };
  const key = idempotencyKeySchema.safeParse(header);
  if (!key.success) {
    throw new BillingError(
      header === undefined ? 'IDEMPOTENCY_KEY_REQUIRED' : 'VALIDATION_FAILED',
      'Mutating requests need an Idempotency-Key header (1-255 printable ASCII characters), unique per intended change.',
    );
  }
  return {
    scope: principal!.id,
    key: key.data,
    requestHash: requestFingerprint(`${route.method} ${route.path}`, { params, body }),
  };
}

export function toExpressHandler(route: RouteDefinition, deps: ApiDeps): RequestHandler {
  return async (req, res) => {
    const principal = await requestPrincipal(deps.authenticator, req);
    authorize(route, principal);
    // req.query is parsed on first read (Express 5): not at all on routes that take no query.
    const params = route.params ? parsePart(route.params, req.params, 'params') : undefined;
    const query = route.query ? parsePart(route.query, req.query, 'query') : undefined;
    const rawBody = route.rawBody ? (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)) : undefined;
    if (!route.rawBody) refuseForeignMediaType(route, req);
    const body = route.rawBody ? undefined : parsePart(route.body, req.body, 'body');

    const idempotency = routeIdempotency(route, principal, req.get('idempotency-key'), params, body);
    const result = await route.handler({
      params,
      query,
      body,
      principal,
      idempotency,
      deps,
      // A getter: the request's logger is built only when a handler asks for it (api/request-log.ts).
      get log() {
        return req.log;
      },
      req,
      rawBody,
    });
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
    res.status(result.status ?? route.successStatus ?? 200);
    if ('stream' in result) {
      res.type(result.contentType);
      await pipeline(result.stream, res);
    } else if (result.bodyText !== undefined) {
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Content-Length', Buffer.byteLength(result.bodyText));
      res.end(result.bodyText);
    } else {
      res.json(result.body);
    }
  };
}
