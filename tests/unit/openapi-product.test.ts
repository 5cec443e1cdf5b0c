/**
 * The OpenAPI document as a product: every operation named (operationId), described and shown by
 * examples that parse with the very zod schemas the server validates with, every list paged the one
 * way, and every event type of the registry in `webhooks`. The lint (`npm run lint:openapi`) checks
 * the written document; this checks the route table it is built from.
 */
import { createHmac } from 'node:crypto';
import { routes } from '../../api/routes';
import type { RouteDefinition } from '../../api/route';
import { buildOpenApiDocument } from '../../api/openapi';
import { EVENT_PAYLOAD_EXAMPLES, webhookEnvelopeSchema, webhookExample } from '../../api/openapi-webhooks';
import { EVENT_TYPES, parsePayload, type EventType } from '../../platform/outbox/event-types';
import { signatureHeaders, webhookBody } from '../../modules/events/delivery';
import { z } from '../../platform/zod';

const keyOf = (route: RouteDefinition) => `${route.method.toUpperCase()} ${route.path}`;
const document = JSON.parse(JSON.stringify(buildOpenApiDocument(routes)));

/** The verbs operationIds start with: what a reader of a generated client sees first. */
const VERBS = [
  'list', 'get', 'create', 'update', 'delete', 'replace', 'set', 'assign', 'change', 'revoke', 'check', 'deduct', 'commit',
  'release', 'extend', 'refund', 'place', 'cancel', 'mark', 'preview', 'export', 'receive', 'send', 'replay', 'rotate',
  'run', 'repair', 'reconcile', 'redrive', 'sign', 'pause', 'resume',
];

describe('operationIds', () => {
  it('every route declares one: verb-noun camelCase', () => {
    const malformed = routes.filter((route) => {
      const verb = /^[a-z]+/.exec(route.operationId)?.[0] ?? '';
      return !/^[a-z]+(?:[A-Z][a-z0-9]*)+$/.test(route.operationId) || !VERBS.includes(verb);
    });
    expect(malformed.map((route) => `${keyOf(route)}: ${route.operationId}`)).toEqual([]);
  });

  it('are unique across operations and webhooks', () => {
    const ids = [
      ...routes.map((route) => route.operationId),
      ...Object.values(document.webhooks).map((item: any) => item.post.operationId as string),
    ];
    const repeated = ids.filter((id, index) => ids.indexOf(id) !== index);
    expect(repeated).toEqual([]);
    expect(ids.length).toBe(routes.length + Object.keys(EVENT_TYPES).length);
  });

  it('are what the document names each operation', () => {
    for (const route of routes) {
      const operation = document.paths[route.path.replace(/:(\w+)/g, '{$1}')][route.method];
      expect(operation.operationId).toBe(route.operationId);
    }
  });
});

describe('descriptions and examples', () => {
  it('every operation has a summary and a longer description', () => {
    const thin = routes.filter((route) => !route.summary.trim() || route.description.trim().length <= route.summary.trim().length);
    expect(thin.map(keyOf)).toEqual([]);
  });

  it('every operation that takes a body has a request example', () => {
    expect(routes.filter((route) => route.body && route.examples.request === undefined).map(keyOf)).toEqual([]);
    expect(routes.filter((route) => !route.body && route.examples.request !== undefined).map(keyOf)).toEqual([]);
  });

  it.each(routes.filter((route) => route.body).map((route) => [keyOf(route), route] as const))('%s: the request example parses with the route body schema', (_key, route) => {
    const parsed = route.body!.safeParse(route.examples.request);
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  });

  it.each(routes.map((route) => [keyOf(route), route] as const))('%s: the response example parses with the response schema', (_key, route) => {
    const parsed = route.response.safeParse(route.examples.response);
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  });

  it('puts each example into the document next to its schema', () => {
    for (const route of routes) {
      const operation = document.paths[route.path.replace(/:(\w+)/g, '{$1}')][route.method];
      const success = operation.responses[String(route.successStatus ?? 200)].content;
      expect(Object.values(success)[0]).toMatchObject({ example: route.examples.response });
      if (route.body) expect(operation.requestBody.content['application/json'].example).toEqual(route.examples.request);
    }
  });
});

/** The zod object at the root of a schema (refinements keep it an object in zod 4). */
function shapeOf(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  return schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType>) : {};
}

describe('pagination', () => {
  // A write answering a report with items (a sweep run now) is an answer, not a list to read.
  const lists = routes.filter((route) => route.method === 'get' && shapeOf(route.response).items instanceof z.ZodArray);

  it('every read answering items is a page (limit, cursor -> nextCursor) or says why it is not a list', () => {
    const unexplained = lists.filter((route) => {
      const paged = 'limit' in shapeOf(route.query) && 'cursor' in shapeOf(route.query) && 'nextCursor' in shapeOf(route.response);
      return paged === (route.unpaged !== undefined);
    });
    expect(unexplained.map(keyOf)).toEqual([]);
  });

  it('pages are GET requests, and a route that is not a list takes no cursor', () => {
    for (const route of routes) {
      if ('cursor' in shapeOf(route.query)) expect([keyOf(route), 'nextCursor' in shapeOf(route.response)]).toEqual([keyOf(route), true]);
      if ('nextCursor' in shapeOf(route.response)) expect(route.method).toBe('get');
    }
  });

  it('a page without a limit gets the route default, never all rows', () => {
    for (const route of lists.filter((candidate) => candidate.unpaged === undefined)) {
      const limit = shapeOf(route.query).limit!.safeParse(undefined);
      expect([keyOf(route), limit.success && typeof limit.data === 'number']).toEqual([keyOf(route), true]);
    }
  });
});

describe('webhooks', () => {
  const types = Object.keys(EVENT_TYPES) as EventType[];

  it('lists every event type of the registry, and nothing else', () => {
    expect(Object.keys(document.webhooks).sort()).toEqual([...types].sort());
  });

  it.each(types)('%s: the payload example fits the registry schema, and the envelope example its schema', (type) => {
    expect(() => parsePayload(type, EVENT_PAYLOAD_EXAMPLES[type])).not.toThrow();
    const parsed = webhookEnvelopeSchema(type).safeParse(webhookExample(type));
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  });

  it.each(types)('%s: what a delivery sends is the documented envelope', (type) => {
    const example = webhookExample(type);
    const sent = JSON.parse(
      webhookBody({ id: example.id, type, userId: example.userId, payload: example.data, occurredAt: new Date(example.timestamp) }),
    );
    const parsed = webhookEnvelopeSchema(type).strict().safeParse(sent);
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
    expect(sent).toEqual(example);
  });

  it('signs as the signature header documents: v1,base64(HMAC-SHA256(secret, "<id>.<timestamp>.<body>"))', () => {
    const secretBytes = Buffer.from('a-32-byte-test-secret-for-hmac!!');
    const secret = `whsec_${secretBytes.toString('base64')}`;
    const body = JSON.stringify(webhookExample('balance.low'));
    const at = new Date('2026-01-31T12:00:04.000Z');
    const headers = signatureHeaders('msg-1', body, [secret], at);
    const timestamp = String(Math.floor(at.getTime() / 1000));
    expect(headers['webhook-timestamp']).toBe(timestamp);
    expect(headers['webhook-signature']).toBe(`v1,${createHmac('sha256', secretBytes).update(`msg-1.${timestamp}.${body}`).digest('base64')}`);
  });

  it.each(types)('%s: documents the body, its example and the Standard Webhooks signature headers', (type) => {
    const operation = document.webhooks[type].post;
    expect(operation.requestBody.content['application/json'].example).toEqual(webhookExample(type));
    const schema = operation.requestBody.content['application/json'].schema;
    const envelope = schema.$ref ? document.components.schemas[schema.$ref.split('/').pop()] : schema;
    expect(envelope.properties.type).toMatchObject({ enum: [type] });
    expect(Object.keys(envelope.properties).sort()).toEqual(['data', 'id', 'timestamp', 'type', 'userId']);
    const headers = operation.parameters.filter((parameter: { in: string }) => parameter.in === 'header').map((parameter: { name: string }) => parameter.name);
    expect(headers.sort()).toEqual(['webhook-id', 'webhook-signature', 'webhook-timestamp']);
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['2XX', '410']));
  });
});
