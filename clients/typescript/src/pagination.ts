import type { MaybeOptionalInit } from 'openapi-fetch';
import type { PathsWithMethod } from 'openapi-typescript-helpers';
import type { Answer, BillingClient, BillingPaths, InitParam } from './client';

type GetPath = PathsWithMethod<BillingPaths, 'get'>;

/** The lists: GET paths that answer `{ items, nextCursor }` (docs/api.md, "Pagination"). */
export type ListPath = { [P in GetPath]: Answer<P, 'get'> extends { items: unknown[]; nextCursor: string | null } ? P : never }[GetPath];

/** One item of a list's answer. */
export type ItemOf<P extends ListPath> = Answer<P, 'get'> extends { items: (infer Item)[] } ? Item : never;

/**
 * Every item of a list, page after page: each page is asked for with the same filters and the
 * previous page's `nextCursor` as `cursor`, until it is null. Pages are fetched as the loop reaches
 * them, so breaking out early asks for no more.
 *
 *     for await (const consumption of paginate(client, '/v1/admin/users/{userId}/consumptions', { params: { path: { userId } } })) ...
 */
export async function* paginate<P extends ListPath, Init extends MaybeOptionalInit<BillingPaths[P], 'get'>>(
  client: BillingClient,
  path: P,
  ...init: InitParam<Init>
): AsyncGenerator<ItemOf<P>, void, undefined> {
  const first = (init[0] ?? {}) as { params?: { query?: Record<string, unknown> } };
  const get = client.get as unknown as (path: string, init: unknown) => Promise<{ items: ItemOf<P>[]; nextCursor: string | null }>;
  let cursor: string | null = null;
  do {
    const query = { ...first.params?.query, ...(cursor === null ? {} : { cursor }) };
    const page = await get(path, { ...first, params: { ...first.params, query } });
    yield* page.items;
    cursor = page.nextCursor;
  } while (cursor !== null);
}
