/**
 * The console (console/: the operator pages and the user page, a Preact app that Vite builds) served at
 * /console from the API's own origin, so its calls to /v1 are same-origin and carry the credential the
 * person typed in, checked by the API like any other call. Nothing here authenticates or authorizes:
 * the pages are public files, the data behind them is not.
 *
 * `npm run console:build` writes console/dist; `npm run build` copies it to dist/console/dist, so the
 * default folder below is right for the sources (tsx) and for the compiled API (dist/api) alike.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import { BillingError } from '../platform/errors';

export interface ConsoleOptions {
  assetsDir: string;
  temporalUiUrl: string | null;
  temporalNamespace: string;
}

export const DEFAULT_CONSOLE_ASSETS_DIR = path.resolve(__dirname, '..', 'console', 'dist');

export function consoleOptionsFrom(config: { CONSOLE_ASSETS_DIR?: string; TEMPORAL_UI_URL?: string; TEMPORAL_NAMESPACE: string }): ConsoleOptions {
  return {
    assetsDir: config.CONSOLE_ASSETS_DIR ? path.resolve(config.CONSOLE_ASSETS_DIR) : DEFAULT_CONSOLE_ASSETS_DIR,
    temporalUiUrl: config.TEMPORAL_UI_URL ?? null,
    temporalNamespace: config.TEMPORAL_NAMESPACE,
  };
}

/**
 * GET /console/config.json: where the Temporal UI is. GET /console/assets/*: the built files, named by
 * their content hash, so cached for a year. Any other GET under /console: the app's one page, never
 * cached, which routes in the browser (/console/prices, /console/users/user-42, /console/me, ...).
 */
export function consoleRouter(options: ConsoleOptions): Router {
  const router = Router();
  const indexFile = path.join(options.assetsDir, 'index.html');
  router.get('/console/config.json', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.json({ temporalUiUrl: options.temporalUiUrl, temporalNamespace: options.temporalNamespace });
  });
  router.use('/console/assets', express.static(path.join(options.assetsDir, 'assets'), { immutable: true, maxAge: '1y', index: false, redirect: false }));
  router.get(['/console', '/console/{*page}'], (req, res, next) => {
    // A missing hashed file is a 404, not the page: a browser would otherwise run HTML as a script.
    if (req.path.startsWith('/console/assets/')) return next();
    if (!existsSync(indexFile)) return next(new BillingError('NOT_FOUND', 'The console is not built: run `npm run console:build`.'));
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(indexFile);
  });
  return router;
}
