import { ReservationStatus } from '../../generated/prisma/enums';
import { z } from '../../infra/zod';
import { checkUserInvariant, listGrantLedger, listReservations } from '../../reports/operations';
import { invariantReportSchema, ledgerPageSchema, reservationPageSchema } from '../../reports/operations-views';
import { defineRoute, type RouteDefinition } from '../route';
import { pageQuerySchema, userIdSchema, uuidSchema } from '../schemas';

/** Operator endpoints (admin credential) for what otherwise needs SQL: stuck holds, a grant's ledger, the invariant. */
const ADMIN = ['admin' as const];
const TAG = 'Admin (operations)';

const reservationsQuery = pageQuerySchema
  .extend({
    userId: userIdSchema.optional(),
    status: z.enum(ReservationStatus).optional(),
    pastDeadline: z.enum(['true', 'false']).optional().openapi({
      description: 'true: only reservations still `held` after their deadline (the worker has not released them yet).',
    }),
  })
  .strict()
  .refine((query) => !(query.pastDeadline === 'true' && query.status !== undefined && query.status !== 'held'), {
    message: 'pastDeadline=true lists held reservations; drop status or use status=held',
    path: ['pastDeadline'],
  });
const grantParams = z.strictObject({ grantId: uuidSchema });
const userParams = z.strictObject({ userId: userIdSchema });

export const operationsRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'get',
    path: '/v1/admin/reservations',
    access: ADMIN,
    tag: TAG,
    summary: 'Reservations, newest first, by user and status; pastDeadline=true: holds past their deadline. Paginated (nextCursor).',
    query: reservationsQuery,
    response: reservationPageSchema,
    handler: async ({ query, deps }) => {
      const { limit, cursor, pastDeadline, ...filter } = query;
      return { body: await listReservations(deps.db, { ...filter, pastDeadline: pastDeadline === 'true' }, { limit, cursor }) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/grants/:grantId/ledger',
    access: ADMIN,
    tag: TAG,
    summary: "A grant's ledger entries in the order they were written. Paginated (nextCursor).",
    params: grantParams,
    query: pageQuerySchema.strict(),
    response: ledgerPageSchema,
    errors: ['NOT_FOUND'],
    handler: async ({ params, query, deps }) => ({ body: await listGrantLedger(deps.db, params.grantId, query) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/users/:userId/invariant',
    access: ADMIN,
    tag: TAG,
    summary: "Checks the ledger invariant for one user's grants now and lists the grants that break it. Changes nothing.",
    params: userParams,
    response: invariantReportSchema,
    handler: async ({ params, deps }) => ({ body: await checkUserInvariant(deps.db, params.userId) }),
  }),
];
