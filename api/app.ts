import express, { Router } from 'express';
import type { Store } from 'express-rate-limit';
import { edgeConfigSchema, type EdgeConfig } from '../modules/config';
import type { Logger } from '../platform/logger';
import type { ApiDeps } from './deps';
import { failFastDuringOutage, outageErrors } from './outages';
import { bodyTooLarge, CredentialRateLimits, refusalMetrics, requestMetrics, routeTemplates, securityHeaders, userRoutesCors } from './edge';
import { errorHandler, notFoundHandler } from './errors';
import { requestLogging } from './request-log';
import { requestTracing, resumeRequestTrace, tracingIsOn } from './request-tracing';
import { buildOpenApiDocument } from './openapi';
import { toExpressHandler } from './route';
import { consoleRouter, DEFAULT_CONSOLE_ASSETS_DIR, type ConsoleOptions } from './console';
import { mountHealth } from './routes/health';
import { mountMetrics } from './routes/metrics';
import { routes } from './routes';

export interface EdgeOptions {
  /** Rate limits, CORS, body limit, proxies, metrics tokens (modules/config.ts). Default: the documented defaults. */
  config?: EdgeConfig;
  /** A rate-limit store shared by all API replicas (default: in memory, per process). */
  rateLimitStore?: Store;
  /**
   * The rate limits, when another door counts against the same budgets (the gRPC port: api/main.ts);
   * default: made here from `config` and `rateLimitStore`.
   */
  rateLimits?: CredentialRateLimits;
  /** The console at /console (api/console.ts). Default: the built console beside the code, no Temporal UI links. */
  console?: ConsoleOptions;
  /** A server span per request (api/request-tracing.ts). Default: when a tracer provider is registered (startTracing ran). */
  traceRequests?: boolean;
}

export function createApp(deps: ApiDeps, logger: Logger, edge: EdgeOptions = {}): express.Express {
  const edgeConfig = edge.config ?? edgeConfigSchema.parse({});
  const templateOf = routeTemplates(routes);
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('trust proxy', edgeConfig.TRUST_PROXY_HOPS);
  const traced = edge.traceRequests ?? tracingIsOn();
  if (traced) app.use(requestTracing());
  app.use(requestMetrics(templateOf));
  app.use(requestLogging(app, logger));
  app.use(securityHeaders());
  // Static files, before the rate limits: loading the page must not spend the anonymous budget of an office behind one address.
  app.use(consoleRouter(edge.console ?? { assetsDir: DEFAULT_CONSOLE_ASSETS_DIR, temporalUiUrl: null, temporalNamespace: 'default' }));
  if (edgeConfig.CORS_ALLOWED_ORIGINS.length > 0) app.use('/v1/me', userRoutesCors(edgeConfig.CORS_ALLOWED_ORIGINS));
  app.use((edge.rateLimits ?? new CredentialRateLimits(edgeConfig, deps.authenticator, edge.rateLimitStore)).http);
  // Per route: JSON for most, the raw bytes for routes that verify a signature over them (webhooks).
  // With tracing on, the request's trace context is taken up again after the body is read (api/request-tracing.ts).
  const afterBody = traced ? [resumeRequestTrace] : [];
  const jsonBody = [express.json({ limit: edgeConfig.HTTP_BODY_LIMIT_BYTES }), ...afterBody];
  const rawBody = [express.raw({ type: () => true, limit: edgeConfig.HTTP_BODY_LIMIT_BYTES }), ...afterBody];

  const router = Router();
  mountHealth(router, deps);
  mountMetrics(router, deps, edgeConfig.METRICS_TOKENS);

  // Built on first request, not at start: generating it from the zod schemas costs ~20 MiB of heap
  // that the process would otherwise keep as RSS whether or not anyone reads the document.
  let openApiDocument: ReturnType<typeof buildOpenApiDocument> | undefined;
  router.get('/openapi.json', (_req, res) => {
    openApiDocument ??= buildOpenApiDocument(routes);
    res.json(openApiDocument);
  });
  mountDocsPage(router);

  router.use('/v1', failFastDuringOutage(deps.health));
  for (const route of routes) router[route.method](route.path, route.rawBody ? rawBody : jsonBody, toExpressHandler(route, deps));
  app.use(router);
  app.use(notFoundHandler);
  app.use(bodyTooLarge(edgeConfig.HTTP_BODY_LIMIT_BYTES));
  app.use(outageErrors(deps.health));
  app.use(refusalMetrics(templateOf));
  app.use(errorHandler);
  return app;
}

/** Swagger UI from the swagger-ui-dist package: the docs page works offline. */
function mountDocsPage(router: Router): void {
  // The path helper alone: requiring the package itself loads its browser bundles (~40 MiB of memory).
  const assets: string = require('swagger-ui-dist/absolute-path.js')();
  // Only the two files the page needs, not the package's demo pages.
  for (const file of ['swagger-ui.css', 'swagger-ui-bundle.js']) {
    router.get(`/docs/assets/${file}`, (_req, res) => {
      res.sendFile(file, { root: assets, maxAge: '1h' });
    });
  }
  router.get('/docs', (_req, res) => {
    res.type('html').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>durable-billing API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`);
  });
  router.get('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send(`window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' });`);
  });
}
