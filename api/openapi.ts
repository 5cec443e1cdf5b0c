import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from '../platform/zod';
import { ERROR_STATUS } from '../platform/errors';
import type { RouteDefinition } from './route';
import { idempotencyKeySchema } from '../platform/idempotency/key';
import { errorEnvelopeSchema } from './schemas';
import { registerWebhooks, WEBHOOK_TAG } from './openapi-webhooks';
import { describeParameters } from './openapi-parameters';

/**
 * What any request can be answered: a malformed request (incl. a bad percent-encoding), a header block
 * over Node's limit, the rate limit (api/edge.ts), our own failure, and 503 with Retry-After while
 * PostgreSQL (or, for workflow calls, Temporal) is down.
 */
const COMMON_ERRORS = ['VALIDATION_FAILED', 'REQUEST_REJECTED', 'HEADERS_TOO_LARGE', 'RATE_LIMITED', 'INTERNAL', 'SERVICE_UNAVAILABLE'];
/** What a request with a body can be answered besides: too large, or not JSON (or an encoding we do not inflate). */
const BODY_ERRORS = ['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];

/** What each tag groups, for readers of the document (every tag a route uses needs a line: the lint checks). */
const TAG_DESCRIPTIONS: Record<string, string> = {
  Public: 'Catalog reads anyone may make, without a credential: action prices, packages on sale, payment channels.',
  'Internal (service)': 'Business services (service key): check, deduct, reserve and settle credits; sign users up; order for a user.',
  User: "A user's own data (user token): credits, grants, consumptions, orders, subscriptions, notices.",
  Admin: 'Operators (admin key): the catalog, grants to users, orders, payment channels and consumption reports.',
  'Admin (operations)': 'What otherwise needs SQL: reservations and stuck holds, a grant\'s ledger, the ledger invariant.',
  'Admin (lifecycle)': 'Package expiry and timers, revocation, sweeps, reconciliation reports and scheduled jobs.',
  Commerce: 'Prices by currency, coupons, sellers and their earnings, gateway reconciliation.',
  Invoices: 'Invoices (one per paid order) and credit notes (one per settled refund), by period, seller, currency and status.',
  Events: 'The event log every business change writes (the outbox).',
  Webhooks: 'Webhook endpoints and their deliveries, and the payment providers\' notifications in.',
  [WEBHOOK_TAG]: 'What this service POSTs to registered webhook endpoints: one operation per event type, with its payload and signature headers.',
};

/** Builds the OpenAPI 3.1 document from the same route table and zod schemas the server validates with. */
export function buildOpenApiDocument(routes: RouteDefinition[]) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'serviceKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'A key from SERVICE_API_KEYS, for business services (/v1/internal/*).',
  });
  registry.registerComponent('securitySchemes', 'adminKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'A key from ADMIN_API_KEYS, for operators (/v1/admin/*).',
  });
  registry.registerComponent('securitySchemes', 'userToken', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'HS256 JWT signed with USER_TOKEN_SECRET; `sub` is the user id. Grants access to that user only.',
  });
  const schemeOf = { service: 'serviceKey', admin: 'adminKey', user: 'userToken' } as const;

  for (const route of routes) {
    const errorCodes = new Set([...COMMON_ERRORS, ...(route.errors ?? [])]);
    if (route.access !== 'public') ['UNAUTHENTICATED', 'FORBIDDEN'].forEach((code) => errorCodes.add(code));
    // A raw body (a signed webhook) is read whatever its media type: only its size can be refused.
    if (route.body) (route.rawBody ? ['PAYLOAD_TOO_LARGE'] : BODY_ERRORS).forEach((code) => errorCodes.add(code));
    if (route.idempotent) ['IDEMPOTENCY_KEY_REQUIRED', 'IDEMPOTENCY_KEY_REUSED'].forEach((code) => errorCodes.add(code));
    const byStatus = new Map<number, string[]>();
    for (const code of errorCodes) {
      const status = ERROR_STATUS[code as keyof typeof ERROR_STATUS];
      byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
    }
    const errorResponses = Object.fromEntries(
      [...byStatus].map(([status, codes]) => [
        status,
        {
          description: `Error codes: ${codes.join(', ')}`,
          ...(status === 503 ? { headers: z.object({ 'Retry-After': z.string().openapi({ description: 'Seconds to wait before retrying with the same Idempotency-Key.' }) }) } : {}),
          content: { 'application/json': { schema: errorEnvelopeSchema } },
        },
      ]),
    );
    const produces = route.produces ?? 'application/json';
    registry.registerPath({
      method: route.method,
      path: route.path.replace(/:(\w+)/g, '{$1}'),
      operationId: route.operationId,
      summary: route.summary,
      description: route.description,
      tags: [route.tag],
      security: route.access === 'public' ? [] : route.access.map((role) => ({ [schemeOf[role]]: [] })),
      request: {
        ...(route.params ? { params: route.params as z.ZodObject } : {}),
        ...(route.query ? { query: route.query as z.ZodObject } : {}),
        ...(route.body
          ? { body: { required: true, content: { 'application/json': { schema: route.body, example: route.examples.request } } } }
          : {}),
        ...(route.idempotent
          ? { headers: z.object({ 'Idempotency-Key': idempotencyKeySchema.openapi({ description: 'Unique per intended change; a retry with the same key replays the first answer.' }) }) }
          : {}),
      },
      responses: {
        [route.successStatus ?? 200]: {
          description: 'Success',
          content: { [produces]: { schema: produces === 'text/csv' ? z.string() : produces === 'application/pdf' ? z.string().openapi({ format: 'binary' }) : route.response, example: route.examples.response } },
        },
        ...errorResponses,
      },
    });
  }

  registerWebhooks(registry);

  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'durable-billing API',
      version: '1.0.0',
      description:
        'Credits for business actions: prices, packages, grants, spends, reservations and refunds. Every error answers `{ "error": { "code", "message", "details"? } }`. Every list pages with `limit` and `cursor` and answers `{ items, nextCursor }` (docs/api.md, "Pagination"). Writes take an `Idempotency-Key`. The `webhooks` section lists the events this service sends to registered endpoints.',
    },
    servers: [{ url: '/' }],
    tags: [...new Set(routes.map((route) => route.tag))].map((name) => ({ name, description: TAG_DESCRIPTIONS[name] ?? '' })).concat({
      name: WEBHOOK_TAG,
      description: TAG_DESCRIPTIONS[WEBHOOK_TAG]!,
    }),
  });
  describeParameters(document.paths);
  return document;
}
