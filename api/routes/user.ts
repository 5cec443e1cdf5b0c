import { BillingError } from '../../platform/errors';
import { getUserCredits, listUserConsumptions, listUserGrants, consumptionPageSchema, userCreditsSchema } from '../../modules/reports';
import type { Principal } from '../auth';
import { balanceGrant, consumption, examplePage, ids, trialGrant, userGrant } from '../examples';
import { defineRoute, type RouteDefinition } from '../route';
import { consumptionFilterQuerySchema, grantStatusSchema, pageQuery, pageQuerySchema, rangeInOrder, rangeInOrderIssue } from '../schemas';
import { userGrantPageSchema } from './admin';

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

/** The grant list answered everything before it paged: a first page this long keeps that for nearly every user. */
const grantsQuery = pageQuery({ default: 200, max: 500 }).extend({ status: grantStatusSchema.optional() });
const consumptionsQuery = pageQuerySchema.extend(consumptionFilterQuerySchema.shape).refine(rangeInOrder, rangeInOrderIssue);

export const userRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'get',
    path: '/v1/me/credits',
    access: USER,
    tag: TAG,
    operationId: 'getMyCredits',
    summary: 'Get my credits',
    description:
      'My spendable credits now, and the grants behind them (active, pending and depleted) in the order spends use them: lowest priority first, then soonest expiry.',
    response: userCreditsSchema,
    examples: {
      response: { userId: ids.user, availableCredits: 395, grants: [{ ...trialGrant, spendable: true }, balanceGrant] },
    },
    handler: async ({ principal, deps }) => ({ body: await getUserCredits(deps.db, ownUserId(principal)) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/packages',
    access: USER,
    tag: TAG,
    operationId: 'listMyGrants',
    summary: 'List my grants',
    description: 'All my grants with the package each came from, any status unless filtered, newest first.',
    query: grantsQuery,
    response: userGrantPageSchema,
    examples: { response: examplePage(userGrant) },
    handler: async ({ principal, query, deps }) => ({
      body: await listUserGrants(deps.db, ownUserId(principal), query.status, query),
    }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/me/consumptions',
    access: USER,
    tag: TAG,
    operationId: 'listMyConsumptions',
    summary: 'List my consumptions',
    description: 'My consumption history (what each action cost and which grants paid for it), newest first, filtered by action and creation time [from, to).',
    query: consumptionsQuery,
    response: consumptionPageSchema,
    examples: { response: examplePage(consumption) },
    handler: async ({ principal, query, deps }) => {
      const { limit, cursor, ...filter } = query;
      return { body: await listUserConsumptions(deps.db, ownUserId(principal), filter, { limit, cursor }) };
    },
  }),
];
