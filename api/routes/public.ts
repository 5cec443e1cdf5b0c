import { listActivePrices, listStorefrontPackages, publicActionPriceSchema, storefrontPackageSchema } from '../../modules/catalog';
import { examplePage, publicActionPrice, storefrontPackage } from '../examples';
import { defineRoute, type RouteDefinition } from '../route';
import { pageOf, pageQuery } from '../schemas';

/** Catalog reads anyone may make (no credential): what actions cost and what can be bought. */
const TAG = 'Public';

/** These lists answered everything before they paged: a first page this long keeps that for any real catalog. */
const CATALOG_PAGE = { default: 200, max: 500 };

export const publicRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'get',
    path: '/v1/action-prices',
    access: 'public',
    tag: TAG,
    operationId: 'listActionPrices',
    summary: 'List active action prices',
    description: 'What each business action costs in credits per unit, for active actions only, ordered by actionKey.',
    query: pageQuery(CATALOG_PAGE),
    response: pageOf(publicActionPriceSchema).openapi('PublicActionPriceList'),
    examples: { response: examplePage(publicActionPrice) },
    handler: async ({ query, deps }) => ({ body: await listActivePrices(deps.db, query) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/packages',
    access: 'public',
    tag: TAG,
    operationId: 'listStorefrontPackages',
    summary: 'List packages on sale',
    description:
      'Packages a user can buy (visible, active, not deleted), cheapest first (by priceMinor, then code). Prices are in the package\'s own currency; `GET /v1/packages/{packageCode}/prices` lists the others.',
    query: pageQuery(CATALOG_PAGE),
    response: pageOf(storefrontPackageSchema).openapi('StorefrontPackageList'),
    examples: { response: examplePage(storefrontPackage) },
    handler: async ({ query, deps }) => ({ body: await listStorefrontPackages(deps.db, query) }),
  }),
];
