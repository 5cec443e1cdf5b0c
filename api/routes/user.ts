import { z } from '../../infra/zod';
import { BillingError } from '../../domain/errors';
import { getUserCredits, listUserConsumptions, listUserGrants } from '../../reports/reports';
import { consumptionPageSchema, userCreditsSchema, userGrantListSchema } from '../../reports/views';
import type { Principal } from '../auth';
import { defineRoute, type RouteDefinition } from '../route';
import { consumptionFilterQuerySchema, grantStatusSchema, pageQuerySchema, rangeInOrder, rangeInOrderIssue } from '../schemas';

/**
 * A user's own data. There is no user id in these paths: the id comes from the token alone, so a user
 * can never name, and so never see, another user's data.
 */
const USER = ['user' as const];
const TAG = 'User';

function ownUserId(principal: Principal | undefined): string {
  // Unreachable for a user credential (the authenticator always sets userId); refuse rather than guess.
  if (!principal?.userId) throw new BillingError('FORBIDDEN', 'This credential is not bound to a user.');
  return principal.userId;
}

const grantsQuery = z.object({ status: grantStatusSchema.optional() });
const consumptionsQuery = pageQuerySchema.extend(consumptionFilterQuerySchema.shape).refine(rangeInOrder, rangeInOrderIssue);

export const userRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'get',
    path: '/v1/me/credits',
    access: USER,
    tag: TAG,
    summary: 'My spendable credits and the grants behind them, in the order spends use them.',
    response: userCreditsSchema,
    handler: async ({ principal, deps }) => ({ body: await getUserCredits(deps.db, ownUserId(principal)) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/packages',
    access: USER,
    tag: TAG,
    summary: 'All my grants (any status unless filtered), newest first.',
    query: grantsQuery,
    response: userGrantListSchema,
    handler: async ({ principal, query, deps }) => ({
      body: { items: await listUserGrants(deps.db, ownUserId(principal), query.status) },
    }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/consumptions',
    access: USER,
    tag: TAG,
    summary: 'My consumption history, newest first; pass nextCursor back as cursor for the next page.',
    query: consumptionsQuery,
    response: consumptionPageSchema,
    handler: async ({ principal, query, deps }) => {
      const { limit, cursor, ...filter } = query;
      return { body: await listUserConsumptions(deps.db, ownUserId(principal), filter, { limit, cursor }) };
    },
  }),
];
