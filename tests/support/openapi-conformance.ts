/**
 * Every answer a test receives is checked against the OpenAPI document clients read (docs/openapi.json
 * as generated from the route table): the documented schema of that operation and status, or the
 * error envelope. A handler that answers a shape its document does not describe fails the test that
 * called it, so the document cannot drift from the server.
 */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { match } from 'path-to-regexp';
import { buildOpenApiDocument } from '../../api/openapi';
import { routes } from '../../api/routes';

type Json = Record<string, any>;

const document = JSON.parse(JSON.stringify(buildOpenApiDocument(routes))) as Json;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: 'openapi', components: document.components }, 'openapi');

const operations = routes.map((route) => ({
  method: route.method.toUpperCase(),
  match: match(route.path, { decode: decodeURIComponent }),
  openApiPath: route.path.replace(/:(\w+)/g, '{$1}'),
  method_: route.method,
}));

const rewriteRefs = (schema: unknown): unknown =>
  JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"openapi#/components/'));

const validators = new Map<string, ReturnType<typeof ajv.compile>>();

/** Throws when `body` is not what the document says this operation answers with `status`. */
export function expectDocumentedResponse(method: string, url: string, status: number, contentType: string, body: unknown): void {
  const pathname = new URL(url, 'http://x').pathname;
  const operation = operations.find((op) => op.method === method && op.match(pathname));
  if (!operation || !contentType.includes('application/json')) return; // unknown routes answer 404s, checked below
  const responses = document.paths[operation.openApiPath]?.[operation.method_]?.responses as Json | undefined;
  const documented = responses?.[String(status)];
  if (!documented) {
    throw new Error(`${method} ${operation.openApiPath} answered ${status}, which its OpenAPI operation does not list`);
  }
  const schema = documented.content?.['application/json']?.schema;
  if (!schema) return;
  const key = `${method} ${operation.openApiPath} ${status}`;
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(rewriteRefs(schema) as object);
    validators.set(key, validate);
  }
  if (!validate(body)) {
    throw new Error(`${key}: the answer breaks its documented schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
  }
}
