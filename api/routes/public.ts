import { listActivePrices, listStorefrontPackages } from '../../catalog/catalog';
import { publicActionPriceSchema, storefrontPackageSchema } from '../../catalog/views';
import { defineRoute, type RouteDefinition } from '../route';
import { listOf } from '../schemas';

/** Catalog reads anyone may make (no credential): what actions cost and what can be bought. */
const TAG = 'Public';

export const publicRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'get',
    path: '/v1/action-prices',
    access: 'public',
    tag: TAG,
    summary: 'Active action prices, ordered by actionKey.',
    response: listOf(publicActionPriceSchema).openapi('PublicActionPriceList'),
    handler: async ({ deps }) => ({ body: { items: await listActivePrices(deps.db) } }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/packages',
    access: 'public',
    tag: TAG,
    summary: 'Packages on sale (visible, active, not deleted), cheapest first.',
    response: listOf(storefrontPackageSchema).openapi('StorefrontPackageList'),
    handler: async ({ deps }) => ({ body: { items: await listStorefrontPackages(deps.db) } }),
  }),
];
