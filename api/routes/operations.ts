import { ReservationStatus } from '../../generated/prisma/enums';
import { z } from '../../platform/zod';
import { checkUserInvariant, listGrantLedger, listReservations, invariantReportSchema, ledgerPageSchema, reservationPageSchema } from '../../modules/reports';
import { examplePage, ids, ledgerEntry, reservation } from '../examples';
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
    operationId: 'listReservations',
    summary: 'List reservations',
    description:
      'Reservations, newest first, by user and status. pastDeadline=true lists holds still `held` after their deadline: the worker has not released them (no worker, or a stuck run).',
    query: reservationsQuery,
    response: reservationPageSchema,
    examples: { response: examplePage(reservation) },
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
    operationId: 'listGrantLedger',
    summary: "List a grant's ledger entries",
    description: "A grant's append-only ledger entries in the order they were written: every grant, hold, release, spend, refund and expiry that moved its credits.",
    params: grantParams,
    query: pageQuerySchema.strict(),
    response: ledgerPageSchema,
    errors: ['NOT_FOUND'],
    examples: { response: { grantId: ids.grant, ...examplePage(ledgerEntry) } },
    handler: async ({ params, query, deps }) => ({ body: await listGrantLedger(deps.db, params.grantId, query) }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/admin/users/:userId/invariant',
    access: ADMIN,
    tag: TAG,
    operationId: 'checkUserInvariant',
    summary: "Check a user's ledger invariant",
    description:
      "Checks now, for each of the user's grants, that available = total - used - reserved >= 0 and that its ledger entries sum to the same; lists the grants that break it. Changes nothing.",
    params: userParams,
    response: invariantReportSchema,
    examples: { response: { userId: ids.user, checkedAt: '2026-01-31T12:10:00.000Z', ok: true, grantsChecked: 2, mismatches: [] } },
    handler: async ({ params, deps }) => ({ body: await checkUserInvariant(deps.db, params.userId) }),
  }),
];
