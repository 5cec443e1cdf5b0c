/**
 * Endpoint by endpoint, from the route table itself: who may call it (anonymous, user A, user B,
 * service, admin), and that invalid input gets 400 VALIDATION_FAILED with field paths and changes nothing.
 * A route added without an entry in SAMPLES fails the first test.
 */
import { randomUUID } from 'node:crypto';
import { routes } from '../api/routes';
import type { RouteDefinition } from '../api/route';
import { USER_TOKEN_SECRET, grantCredits, newUserId, startStack, userToken, type Caller, type TestStack } from './support/stack';

let stack: TestStack;
const userA = newUserId('alice');
const userB = newUserId('bob');

beforeAll(async () => {
  stack = await startStack();
  await grantCredits(stack.db, userA, 50);
});
afterAll(async () => {
  await stack?.close();
});

interface Input {
  params?: Record<string, string>;
  query?: string;
  body?: unknown;
}
interface Sample {
  valid: () => Input;
  /** null: the route takes no input that could be invalid. */
  invalid: Input | null;
}

const missingId = '00000000-0000-4000-8000-000000000000';

const SAMPLES: Record<string, Sample> = {
  'GET /v1/action-prices': { valid: () => ({}), invalid: null },
  'GET /v1/packages': { valid: () => ({}), invalid: null },
  'POST /v1/internal/credits/check': {
    valid: () => ({ body: { userId: userA, actionKey: 'ai_chat' } }),
    invalid: { body: { userId: '', actionKey: 'Not A Key', quantity: 0 } },
  },
  'POST /v1/internal/credits/deduct': {
    valid: () => ({ body: { userId: userA, actionKey: 'ai_chat' } }),
    invalid: { body: { userId: userA, actionKey: 'ai_chat', quantity: 1.5 } },
  },
  'POST /v1/internal/reservations': {
    valid: () => ({ body: { userId: userA, actionKey: 'ai_chat', holdSeconds: 30 } }),
    invalid: { body: { userId: userA, actionKey: 'ai_chat', holdSeconds: -1 } },
  },
  'GET /v1/internal/reservations/:reservationId': {
    valid: () => ({ params: { reservationId: missingId } }),
    invalid: { params: { reservationId: 'not-a-uuid' } },
  },
  'POST /v1/internal/reservations/:reservationId/commit': {
    valid: () => ({ params: { reservationId: missingId }, body: {} }),
    invalid: { params: { reservationId: missingId }, body: { quantity: 'all' } },
  },
  'POST /v1/internal/reservations/:reservationId/release': {
    valid: () => ({ params: { reservationId: missingId }, body: {} }),
    invalid: { params: { reservationId: missingId }, body: { unexpected: true } },
  },
  'POST /v1/internal/reservations/:reservationId/extend': {
    valid: () => ({ params: { reservationId: missingId }, body: { holdSeconds: 10 } }),
    invalid: { params: { reservationId: missingId }, body: { holdSeconds: 0 } },
  },
  'POST /v1/internal/reservations/:reservationId/refund': {
    valid: () => ({ params: { reservationId: missingId }, body: { reason: 'failed' } }),
    invalid: { params: { reservationId: missingId }, body: { reason: '' } },
  },
  'POST /v1/internal/consumptions/:consumptionId/refund': {
    valid: () => ({ params: { consumptionId: missingId }, body: { reason: 'failed' } }),
    invalid: { params: { consumptionId: missingId }, body: { reason: 'failed', credits: -3 } },
  },
  'GET /v1/me/credits': { valid: () => ({}), invalid: null },
  'GET /v1/me/packages': { valid: () => ({}), invalid: { query: '?status=bogus' } },
  'GET /v1/me/consumptions': { valid: () => ({}), invalid: { query: '?limit=0&cursor=%%%' } },
  'GET /v1/admin/action-prices': { valid: () => ({}), invalid: null },
  'POST /v1/admin/action-prices': {
    valid: () => ({ body: { actionKey: `probe_${randomUUID().slice(0, 8)}`, name: 'Probe', creditsPerUnit: 1 } }),
    invalid: { body: { actionKey: 'probe_invalid', name: 'Probe', creditsPerUnit: -1 } },
  },
  'PATCH /v1/admin/action-prices/:actionKey': {
    valid: () => ({ params: { actionKey: 'matrix_missing_action' }, body: { name: 'Nothing' } }),
    invalid: { params: { actionKey: 'ai_chat' }, body: { creditsPerUnit: 'free' } },
  },
  'GET /v1/admin/packages': { valid: () => ({}), invalid: { query: '?includeDeleted=maybe' } },
  'POST /v1/admin/packages': {
    valid: () => ({
      body: { code: `probe_${randomUUID().slice(0, 8)}`, name: 'Probe', type: 'credits', creditsAmount: 5, priceMinor: 100, currency: 'USD' },
    }),
    invalid: { body: { code: 'probe_invalid', name: 'Probe', type: 'permanent', creditsAmount: 5, durationDays: 30, priceMinor: 1, currency: 'usd' } },
  },
  'GET /v1/admin/packages/:packageId': {
    valid: () => ({ params: { packageId: missingId } }),
    invalid: { params: { packageId: 'monthly' } },
  },
  'PATCH /v1/admin/packages/:packageId': {
    valid: () => ({ params: { packageId: missingId }, body: { visible: false } }),
    invalid: { params: { packageId: missingId }, body: { priceMinor: -5 } },
  },
  'POST /v1/me/top-up-rules': {
    valid: () => ({ body: { thresholdCredits: 10, packageCode: 'monthly_membership', maxTopUpsPerMonth: 1 } }),
    invalid: { body: { thresholdCredits: 10, packageCode: 'monthly_membership' } },
  },
  'GET /v1/me/top-up-rules': { valid: () => ({}), invalid: null },
  'GET /v1/me/top-ups': { valid: () => ({}), invalid: { query: '?limit=0' } },
  'POST /v1/me/top-ups': { valid: () => ({ body: { packageCode: 'monthly_membership' } }), invalid: { body: { packageCode: 'Not A Code' } } },
  'GET /v1/me/top-ups/:refillId': { valid: () => ({ params: { refillId: 'top-up-manual-0000' } }), invalid: { params: { refillId: 'not-a-refill' } } },
  'POST /v1/me/top-ups/:refillId/confirm': { valid: () => ({ params: { refillId: 'top-up-manual-0000' }, body: {} }), invalid: { params: { refillId: 'top-up-manual-0000' }, body: { extra: 1 } } },
  'POST /v1/me/payment-methods': { valid: () => ({ body: { channel: 'stripe', token: 'tok_probe' } }), invalid: { body: { channel: 'stripe' } } },
  'POST /v1/me/payment-methods/stripe-setups': { valid: () => ({ body: { channel: 'stripe' } }), invalid: { body: { channel: 'stripe', token: 'tok_probe' } } },
  'GET /v1/me/payment-methods': { valid: () => ({}), invalid: null },
  'DELETE /v1/me/payment-methods/:methodId': { valid: () => ({ params: { methodId: missingId } }), invalid: { params: { methodId: '42' } } },
  'GET /v1/me/top-up-rules/:ruleId': { valid: () => ({ params: { ruleId: missingId } }), invalid: { params: { ruleId: '42' } } },
  'POST /v1/me/top-up-rules/:ruleId/pause': { valid: () => ({ params: { ruleId: missingId }, body: {} }), invalid: { params: { ruleId: missingId }, body: { extra: 1 } } },
  'POST /v1/me/top-up-rules/:ruleId/resume': { valid: () => ({ params: { ruleId: missingId }, body: {} }), invalid: { params: { ruleId: '42' }, body: {} } },
  'DELETE /v1/me/top-up-rules/:ruleId': { valid: () => ({ params: { ruleId: missingId } }), invalid: { params: { ruleId: '42' } } },
  'POST /v1/admin/users/:userId/top-up-rules': {
    valid: () => ({ params: { userId: userB }, body: { thresholdCredits: 10, packageCode: 'monthly_membership', maxAmountMinorPerMonth: 5000 } }),
    invalid: { params: { userId: userB }, body: { thresholdCredits: 0, packageCode: 'monthly_membership', maxTopUpsPerMonth: 1 } },
  },
  'GET /v1/admin/users/:userId/top-up-rules': { valid: () => ({ params: { userId: userA } }), invalid: { params: { userId: 'not a user id!' } } },
  'GET /v1/admin/users/:userId/top-up-rules/:ruleId': { valid: () => ({ params: { userId: userA, ruleId: missingId } }), invalid: { params: { userId: userA, ruleId: '42' } } },
  'POST /v1/admin/users/:userId/top-up-rules/:ruleId/pause': { valid: () => ({ params: { userId: userA, ruleId: missingId }, body: {} }), invalid: { params: { userId: userA, ruleId: '42' }, body: {} } },
  'POST /v1/admin/users/:userId/top-up-rules/:ruleId/resume': { valid: () => ({ params: { userId: userA, ruleId: missingId }, body: {} }), invalid: { params: { userId: userA, ruleId: missingId }, body: { now: true } } },
  'DELETE /v1/admin/users/:userId/top-up-rules/:ruleId': { valid: () => ({ params: { userId: userA, ruleId: missingId } }), invalid: { params: { userId: userA, ruleId: '42' } } },
  'DELETE /v1/admin/packages/:packageId': {
    valid: () => ({ params: { packageId: missingId } }),
    invalid: { params: { packageId: '42' } },
  },
  'POST /v1/admin/users/:userId/packages': {
    valid: () => ({ params: { userId: userB }, body: { packageCode: 'new_user_trial', source: 'gift' } }),
    invalid: { params: { userId: userB }, body: { packageCode: 'new_user_trial', source: 'stolen' } },
  },
  'GET /v1/admin/users/:userId/packages': {
    valid: () => ({ params: { userId: userA } }),
    invalid: { params: { userId: 'not a user id!' } },
  },
  'GET /v1/admin/consumptions/stats': { valid: () => ({}), invalid: { query: '?groupBy=week' } },
  'GET /v1/admin/consumptions/export.csv': { valid: () => ({}), invalid: { query: '?from=yesterday' } },
  'GET /v1/admin/audit-events': { valid: () => ({}), invalid: { query: '?entityType=ledger' } },
  // orders, payments, webhooks
  'POST /v1/me/orders': {
    valid: () => ({ body: { packageCode: 'matrix_missing_package', channel: 'manual' } }),
    invalid: { body: { packageCode: 'Not A Code', channel: '' } },
  },
  'GET /v1/me/orders': { valid: () => ({}), invalid: { query: '?status=lost' } },
  'GET /v1/me/orders/:orderId': { valid: () => ({ params: { orderId: missingId } }), invalid: { params: { orderId: 'order-1' } } },
  'POST /v1/me/orders/:orderId/cancel': {
    valid: () => ({ params: { orderId: missingId }, body: {} }),
    invalid: { params: { orderId: missingId }, body: { reason: 'unexpected' } },
  },
  'GET /v1/me/subscriptions': { valid: () => ({}), invalid: null },
  'POST /v1/internal/orders': {
    valid: () => ({ body: { userId: userB, packageCode: 'matrix_missing_package', channel: 'manual' } }),
    invalid: { body: { userId: 'not a user id!', packageCode: 'monthly_membership', channel: 'manual' } },
  },
  'GET /v1/internal/orders/:orderId': { valid: () => ({ params: { orderId: missingId } }), invalid: { params: { orderId: '42' } } },
  'GET /v1/admin/orders': { valid: () => ({}), invalid: { query: '?status=paid&limit=0' } },
  'GET /v1/admin/orders/:orderId': { valid: () => ({ params: { orderId: missingId } }), invalid: { params: { orderId: 'x' } } },
  'POST /v1/admin/orders/:orderId/mark-paid': {
    valid: () => ({ params: { orderId: missingId }, body: { reason: 'bank transfer' } }),
    invalid: { params: { orderId: missingId }, body: { reason: '' } },
  },
  'POST /v1/admin/orders/:orderId/refund': {
    valid: () => ({ params: { orderId: missingId }, body: { reason: 'goodwill' } }),
    invalid: { params: { orderId: missingId }, body: { reason: 'goodwill', amountMinor: -1 } },
  },
  'GET /v1/admin/orders/:orderId/refunds': { valid: () => ({ params: { orderId: missingId } }), invalid: { params: { orderId: 'y' } } },
  'GET /v1/admin/users/:userId/subscriptions': { valid: () => ({ params: { userId: userA } }), invalid: { params: { userId: 'not a user id!' } } },
  'GET /v1/payment-channels': { valid: () => ({}), invalid: null },
  'GET /v1/admin/payment-channels': { valid: () => ({}), invalid: null },
  'GET /v1/admin/payment-channels/:channel': { valid: () => ({ params: { channel: 'matrix-missing' } }), invalid: { params: { channel: 'Not A Code' } } },
  'POST /v1/admin/payment-channels': {
    valid: () => ({ body: { code: `probe-${randomUUID().slice(0, 8)}`, kind: 'manual', name: 'Probe', currencies: ['USD'], enabled: false } }),
    invalid: { body: { code: 'probe_invalid', kind: 'bitcoin', name: 'Probe', currencies: ['usd'] } },
  },
  'PATCH /v1/admin/payment-channels/:channel': {
    valid: () => ({ params: { channel: 'matrix-missing' }, body: { enabled: false } }),
    invalid: { params: { channel: 'manual' }, body: { displayOrder: -1 } },
  },
  // Authenticated by signature, not credential: every caller gets the same 400 for an unsigned body.
  'POST /v1/webhooks/stripe': { valid: () => ({ body: {} }), invalid: null },
  'POST /v1/webhooks/gateway/:channel': {
    valid: () => ({ params: { channel: 'matrix-missing' }, body: {} }),
    invalid: { params: { channel: 'Not A Channel!' } },
  },
  'GET /v1/admin/reservations': {
    valid: () => ({ query: `?userId=${userA}&pastDeadline=true` }),
    invalid: { query: '?status=stuck&pastDeadline=yes' },
  },
  'GET /v1/admin/grants/:grantId/ledger': {
    valid: () => ({ params: { grantId: missingId } }),
    invalid: { params: { grantId: 'grant-1' } },
  },
  // lifecycle
  'POST /v1/internal/users/:userId/signup': {
    valid: () => ({ params: { userId: userB }, body: {} }),
    invalid: { params: { userId: 'not a user id!' }, body: {} },
  },
  'GET /v1/admin/user-packages': {
    valid: () => ({ query: `?userId=${userA}&expiresAfter=2026-01-01T00:00:00%2B02:00` }),
    invalid: { query: '?expiresBefore=tomorrow' },
  },
  'GET /v1/admin/user-packages/:userPackageId/lifecycle': { valid: () => ({ params: { userPackageId: missingId } }), invalid: { params: { userPackageId: 'p-1' } } },
  'POST /v1/admin/user-packages/:userPackageId/expiry': {
    valid: () => ({ params: { userPackageId: missingId }, body: { expiresAt: '2030-01-01T00:00:00Z', reason: 'goodwill' } }),
    invalid: { params: { userPackageId: missingId }, body: { expiresAt: '2030-01-01', reason: 'goodwill' } },
  },
  'POST /v1/admin/user-packages/:userPackageId/revoke': {
    valid: () => ({ params: { userPackageId: missingId }, body: { reason: 'fraud' } }),
    invalid: { params: { userPackageId: missingId }, body: { reason: '' } },
  },
  'POST /v1/admin/lifecycle/sweeps': { valid: () => ({ body: { userId: userA } }), invalid: { body: { userId: 'not a user id!' } } },
  'POST /v1/admin/lifecycle/reconciliations': { valid: () => ({ body: { userId: userA } }), invalid: { body: { all: true } } },
  'GET /v1/admin/lifecycle/reports': { valid: () => ({}), invalid: { query: '?kind=audit' } },
  'POST /v1/admin/inspections': { valid: () => ({ body: {} }), invalid: { body: { userId: userA } } },
  'GET /v1/admin/inspections': { valid: () => ({}), invalid: { query: '?kind=sweep' } },
  'GET /v1/admin/inspections/:reportId': { valid: () => ({ params: { reportId: missingId } }), invalid: { params: { reportId: 'r1' } } },
  'GET /v1/admin/lifecycle/reports/:reportId': { valid: () => ({ params: { reportId: missingId } }), invalid: { params: { reportId: 'r1' } } },
  'POST /v1/admin/lifecycle/reports/:reportId/items/:itemId/repair': {
    valid: () => ({ params: { reportId: missingId, itemId: 'grant_ledger_mismatch:x' }, body: {} }),
    invalid: { params: { reportId: 'r1', itemId: 'x' }, body: {} },
  },
  'GET /v1/admin/schedules': { valid: () => ({}), invalid: null },
  'GET /v1/admin/users/:userId/invariant': {
    valid: () => ({ params: { userId: userA } }),
    invalid: { params: { userId: 'not a user id!' } },
  },
  'GET /v1/admin/events': { valid: () => ({}), invalid: { query: '?type=credits.stolen&limit=0' } },
  'GET /v1/admin/webhook-endpoints': { valid: () => ({}), invalid: null },
  'POST /v1/admin/webhook-endpoints': {
    valid: () => ({ body: { url: 'http://127.0.0.1:9/probe', eventTypes: ['credits.deducted'] } }),
    invalid: { body: { url: 'http://example.com/not-loopback', eventTypes: ['nope'] } },
  },
  'GET /v1/admin/webhook-endpoints/:endpointId': { valid: () => ({ params: { endpointId: missingId } }), invalid: { params: { endpointId: 'x' } } },
  'PATCH /v1/admin/webhook-endpoints/:endpointId': {
    valid: () => ({ params: { endpointId: missingId }, body: { enabled: false } }),
    invalid: { params: { endpointId: missingId }, body: {} },
  },
  'DELETE /v1/admin/webhook-endpoints/:endpointId': { valid: () => ({ params: { endpointId: missingId } }), invalid: { params: { endpointId: '1' } } },
  'POST /v1/admin/webhook-endpoints/:endpointId/rotate-secret': {
    valid: () => ({ params: { endpointId: missingId }, body: {} }),
    invalid: { params: { endpointId: missingId }, body: { overlapHours: -1 } },
  },
  'POST /v1/admin/webhook-endpoints/:endpointId/test': { valid: () => ({ params: { endpointId: missingId } }), invalid: { params: { endpointId: 'x' } } },
  'POST /v1/admin/webhook-endpoints/:endpointId/replay-failed': {
    valid: () => ({ params: { endpointId: missingId } }),
    invalid: { params: { endpointId: 'x' } },
  },
  'GET /v1/admin/webhook-deliveries': { valid: () => ({}), invalid: { query: '?status=lost' } },
  'GET /v1/admin/webhook-deliveries/:deliveryId': { valid: () => ({ params: { deliveryId: missingId } }), invalid: { params: { deliveryId: 'x' } } },
  'POST /v1/admin/webhook-deliveries/:deliveryId/replay': { valid: () => ({ params: { deliveryId: missingId } }), invalid: { params: { deliveryId: 'x' } } },
  'GET /v1/me/notifications': { valid: () => ({}), invalid: { query: '?unread=maybe' } },
  'POST /v1/me/notifications/:notificationId/read': {
    valid: () => ({ params: { notificationId: missingId } }),
    invalid: { params: { notificationId: 'x' } },
  },
  'POST /v1/me/notifications/read-all': { valid: () => ({}), invalid: null },
  'GET /v1/me/notification-settings': { valid: () => ({}), invalid: null },
  'PUT /v1/me/notification-settings': {
    valid: () => ({ body: { email: null, emailOptOut: [] } }),
    invalid: { body: { email: 'not-an-address', emailOptOut: ['balance.low', 'nope'] } },
  },
  // Commerce: prices by currency, coupons, sellers, gateway reconciliation.
  'GET /v1/packages/:packageCode/prices': { valid: () => ({ params: { packageCode: 'matrix_missing' } }), invalid: { params: { packageCode: 'Not A Code' } } },
  'POST /v1/admin/packages/:packageId/prices': {
    valid: () => ({ params: { packageId: missingId }, body: { prices: [{ currency: 'JPY', amountMinor: 980 }] } }),
    invalid: { params: { packageId: missingId }, body: { prices: [{ currency: 'XXX', amountMinor: -1 }] } },
  },
  'GET /v1/admin/statistics/sales': { valid: () => ({ query: '?from=2026-01-01T00:00:00Z' }), invalid: { query: '?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z' } },
  'GET /v1/admin/coupons': { valid: () => ({ query: '?enabled=true' }), invalid: { query: '?enabled=maybe&limit=0' } },
  'POST /v1/admin/coupons': {
    valid: () => ({ body: { code: `PROBE-${randomUUID().slice(0, 8).toUpperCase()}`, kind: 'percent', percentBasisPoints: 1000, enabled: false } }),
    invalid: { body: { code: 'PROBE_INVALID', kind: 'percent', percentBasisPoints: 20_000, amountsOff: { usd: 1 } } },
  },
  'GET /v1/admin/coupons/:code': { valid: () => ({ params: { code: 'MATRIX-MISSING' } }), invalid: { params: { code: 'lower case' } } },
  'PATCH /v1/admin/coupons/:code': {
    valid: () => ({ params: { code: 'MATRIX-MISSING' }, body: { enabled: false } }),
    invalid: { params: { code: 'MATRIX-MISSING' }, body: { maxPerUser: 0 } },
  },
  'POST /v1/me/coupons/preview': {
    valid: () => ({ body: { code: 'MATRIX-MISSING', packageCode: 'matrix_missing' } }),
    invalid: { body: { code: 'x', packageCode: 'Not A Code', currency: 'yen' } },
  },
  'GET /v1/admin/sellers': { valid: () => ({}), invalid: null },
  'POST /v1/admin/sellers': {
    valid: () => ({ body: { code: `probe-${randomUUID().slice(0, 8)}`, name: 'Probe seller', enabled: false } }),
    invalid: { body: { code: 'probe_invalid', name: '', platformFeeBasisPoints: 10_001 } },
  },
  'GET /v1/admin/sellers/:sellerId': { valid: () => ({ params: { sellerId: missingId } }), invalid: { params: { sellerId: 'seller-1' } } },
  'PATCH /v1/admin/sellers/:sellerId': {
    valid: () => ({ params: { sellerId: missingId }, body: { enabled: false } }),
    invalid: { params: { sellerId: missingId }, body: { platformFeeBasisPoints: -1 } },
  },
  'GET /v1/admin/sellers/:sellerId/earnings': {
    valid: () => ({ params: { sellerId: missingId }, query: '?granularity=month' }),
    invalid: { params: { sellerId: missingId }, query: '?granularity=week' },
  },
  'GET /v1/admin/sellers/:sellerId/earnings/export.csv': {
    valid: () => ({ params: { sellerId: missingId } }),
    invalid: { params: { sellerId: missingId }, query: '?from=yesterday' },
  },
  'GET /v1/admin/orders/:orderId/split': { valid: () => ({ params: { orderId: missingId } }), invalid: { params: { orderId: 'order-1' } } },
  'POST /v1/admin/reconciliations': {
    valid: () => ({ body: { channel: 'matrix-missing', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' } }),
    invalid: { body: { channel: 'stripe', from: '2026-03-01T00:00:00Z', to: '2026-01-01T00:00:00Z' } },
  },
  'GET /v1/admin/reconciliations': { valid: () => ({ query: '?limit=5' }), invalid: { query: '?limit=0' } },
  'GET /v1/admin/reconciliations/:reportId': { valid: () => ({ params: { reportId: missingId } }), invalid: { params: { reportId: 'latest' } } },
  'POST /v1/admin/reconciliations/:reportId/mismatches/:mismatchId/redrive': {
    valid: () => ({ params: { reportId: missingId, mismatchId: missingId }, body: {} }),
    invalid: { params: { reportId: missingId, mismatchId: 'm-1' }, body: {} },
  },
  // Invoices and credit notes, billing details.
  'PUT /v1/me/billing-details': { valid: () => ({ body: { name: '王小明', country: 'DE' } }), invalid: { body: { name: '', country: 'Germany' } } },
  'GET /v1/me/billing-details': { valid: () => ({}), invalid: null },
  'GET /v1/me/invoices': { valid: () => ({}), invalid: { query: '?limit=0' } },
  'GET /v1/me/invoices/:invoiceId': { valid: () => ({ params: { invoiceId: missingId } }), invalid: { params: { invoiceId: 'inv-1' } } },
  'GET /v1/me/invoices/:invoiceId/pdf': { valid: () => ({ params: { invoiceId: missingId } }), invalid: { params: { invoiceId: 'inv-1' } } },
  'GET /v1/me/credit-notes': { valid: () => ({}), invalid: { query: '?from=yesterday' } },
  'GET /v1/me/credit-notes/:creditNoteId': { valid: () => ({ params: { creditNoteId: missingId } }), invalid: { params: { creditNoteId: 'cn-1' } } },
  'GET /v1/me/credit-notes/:creditNoteId/pdf': { valid: () => ({ params: { creditNoteId: missingId } }), invalid: { params: { creditNoteId: 'cn-1' } } },
  'GET /v1/admin/invoices': { valid: () => ({ query: '?currency=USD&status=issued' }), invalid: { query: '?status=paid' } },
  'GET /v1/admin/invoices/export.csv': { valid: () => ({ query: '?currency=JPY' }), invalid: { query: '?currency=yen' } },
  'GET /v1/admin/invoices/:invoiceId': { valid: () => ({ params: { invoiceId: missingId } }), invalid: { params: { invoiceId: 'inv-1' } } },
  'GET /v1/admin/invoices/:invoiceId/pdf': { valid: () => ({ params: { invoiceId: missingId } }), invalid: { params: { invoiceId: 'inv-1' } } },
  'GET /v1/admin/credit-notes': { valid: () => ({ query: '?limit=5' }), invalid: { query: '?invoiceId=x' } },
  'GET /v1/admin/sellers/:sellerId/statements/:month/csv': { valid: () => ({ params: { sellerId: missingId, month: '2026-01' } }), invalid: { params: { sellerId: missingId, month: '2026-13' } } },
  'GET /v1/admin/sellers/:sellerId/statements/:month/pdf': { valid: () => ({ params: { sellerId: missingId, month: '2026-01' } }), invalid: { params: { sellerId: missingId, month: 'jan' } } },
};

const keyOf = (route: RouteDefinition) => `${route.method.toUpperCase()} ${route.path}`;

function urlOf(route: RouteDefinition, input: Input): string {
  const path = route.path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(input.params?.[name] ?? name));
  return `${path}${input.query ?? ''}`;
}

function send(route: RouteDefinition, input: Input, as: Caller, idempotencyKey?: string) {
  return stack.call(route.method.toUpperCase(), urlOf(route, input), { as, body: input.body, idempotencyKey });
}

const CALLERS: Array<{ name: string; as: Caller; role: 'anonymous' | 'service' | 'admin' | 'user' }> = [
  { name: 'anonymous', as: 'anonymous', role: 'anonymous' },
  { name: 'user A', as: { user: userA }, role: 'user' },
  { name: 'user B', as: { user: userB }, role: 'user' },
  { name: 'service', as: 'service', role: 'service' },
  { name: 'admin', as: 'admin', role: 'admin' },
];

it('has a sample for every route in the table', () => {
  expect(routes.map(keyOf).filter((key) => !(key in SAMPLES))).toEqual([]);
});

describe.each(routes.map((route) => [keyOf(route), route] as const))('%s', (_key, route) => {
  it.each(CALLERS.map((caller) => [caller.name, caller] as const))('access as %s', async (_name, caller) => {
    const response = await send(route, SAMPLES[keyOf(route)]!.valid(), caller.as);
    if (route.access === 'public' || (caller.role !== 'anonymous' && route.access.includes(caller.role))) {
      expect([401, 403]).not.toContain(response.status);
      expect(response.status).toBeLessThan(500);
    } else if (caller.role === 'anonymous') {
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('UNAUTHENTICATED');
    } else {
      expect(response.status).toBe(403);
      expect(response.body.error.code).toBe('FORBIDDEN');
    }
  });

  if (route.access !== 'public') {
    it('rejects forged and malformed credentials with 401', async () => {
      const input = SAMPLES[keyOf(route)]!.valid();
      const forged = await new (await import('jose')).SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(userA)
        .sign(new TextEncoder().encode('some-other-secret-that-is-long-enough'));
      const neverExpires = await new (await import('jose')).SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(userA)
        .sign(new TextEncoder().encode(USER_TOKEN_SECRET));
      for (const authorization of [`Bearer ${forged}`, `Bearer ${neverExpires}`, 'Bearer not-a-key', 'Basic Zm9vOmJhcg==']) {
        const response = await fetch(`${stack.baseUrl}${urlOf(route, input)}`, {
          method: route.method.toUpperCase(),
          headers: { authorization, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          body: input.body === undefined ? undefined : JSON.stringify(input.body),
        });
        expect(response.status).toBe(401);
        expect(((await response.json()) as any).error.code).toBe('UNAUTHENTICATED');
      }
    });
  }

  const invalid = SAMPLES[keyOf(route)]!.invalid;
  if (invalid) {
    it('answers invalid input with 400, field paths, and no change', async () => {
      const allowed = route.access === 'public' ? 'anonymous' : route.access[0]!;
      const as: Caller = allowed === 'user' ? { user: userA } : allowed;
      const key = `invalid-${randomUUID()}`;
      const before = await stateTouchedByInvalidSamples();
      const response = await send(route, invalid, as, key);
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
      expect(response.body.error.details.issues.length).toBeGreaterThan(0);
      for (const issue of response.body.error.details.issues) expect(issue.path).toMatch(/^(body|query|params)(\.|$)/);
      expect(JSON.stringify(response.body)).not.toMatch(/at .*\.ts:\d+/); // no stack trace
      expect(await stateTouchedByInvalidSamples()).toEqual(before);
      expect(await stack.db.idempotencyRecord.count({ where: { key } })).toBe(0);
    });
  }
});

/**
 * Everything an invalid sample could have written if validation let it through. Scoped to this
 * file's users and probe names, because other test files write to the same database concurrently.
 */
async function stateTouchedByInvalidSamples() {
  const users = [userA, userB];
  const [grants, ledger, consumptions, reservations, probes, aiChat, events] = await Promise.all([
    stack.db.userPackage.count({ where: { userId: { in: users } } }),
    stack.db.creditLedgerEntry.count({ where: { userId: { in: users } } }),
    stack.db.consumptionRecord.count({ where: { userId: { in: users } } }),
    stack.db.reservation.count({ where: { userId: { in: users } } }),
    Promise.all([
      stack.db.actionPrice.count({ where: { actionKey: 'probe_invalid' } }),
      stack.db.billingPackage.count({ where: { code: 'probe_invalid' } }),
    ]),
    stack.db.actionPrice.findUnique({ where: { actionKey: 'ai_chat' } }),
    Promise.all([
      stack.db.webhookEndpoint.count({ where: { url: 'http://example.com/not-loopback' } }),
      stack.db.notificationSetting.count({ where: { userId: { in: users } } }),
      stack.db.topUpRule.count({ where: { userId: { in: users } } }),
    ]),
  ]);
  const [orders, channels, manualChannel] = await Promise.all([
    stack.db.order.count({ where: { userId: { in: users } } }),
    stack.db.paymentChannel.count({ where: { code: 'probe_invalid' } }),
    stack.db.paymentChannel.findUnique({ where: { code: 'manual' } }),
  ]);
  const commerce = await Promise.all([
    stack.db.coupon.count({ where: { code: { in: ['PROBE_INVALID', 'MATRIX-MISSING'] } } }),
    stack.db.seller.count({ where: { code: 'probe_invalid' } }),
    stack.db.reconciliationReport.count({ where: { channelCode: 'stripe', periodFrom: new Date('2026-03-01T00:00:00Z') } }),
  ]);
  return { grants, ledger, consumptions, reservations, probes, aiChat, orders, channels, manualChannel, events, commerce };
}

describe('user scoping', () => {
  it("shows each user only their own credits, packages and consumptions", async () => {
    const spend = await stack.call('POST', '/v1/internal/credits/deduct', { body: { userId: userA, actionKey: 'pdf_export' } });
    expect(spend.status).toBe(201);

    const aCredits = await stack.call('GET', '/v1/me/credits', { as: { user: userA } });
    const bCredits = await stack.call('GET', '/v1/me/credits', { as: { user: userB } });
    expect(aCredits.body.userId).toBe(userA);
    expect(aCredits.body.availableCredits).toBeGreaterThan(0);
    expect(bCredits.body.userId).toBe(userB);
    expect(JSON.stringify(bCredits.body)).not.toContain(userA);

    const aHistory = await stack.call('GET', '/v1/me/consumptions', { as: { user: userA } });
    const bHistory = await stack.call('GET', '/v1/me/consumptions', { as: { user: userB } });
    expect(aHistory.body.items.map((c: { id: string }) => c.id)).toContain(spend.body.id);
    expect(bHistory.body.items.every((c: { userId: string }) => c.userId === userB)).toBe(true);

    const bPackages = await stack.call('GET', '/v1/me/packages', { as: { user: userB } });
    expect(JSON.stringify(bPackages.body)).not.toContain(userA);
  });

  it('accepts a valid user token and names the user in it', async () => {
    const response = await fetch(`${stack.baseUrl}/v1/me/credits`, { headers: { authorization: `Bearer ${await userToken(userB)}` } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as any).userId).toBe(userB);
  });
});

describe('errors', () => {
  it('answers unknown routes and malformed JSON with the error envelope', async () => {
    const unknown = await stack.call('GET', '/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });

    const malformed = await stack.call('POST', '/v1/internal/credits/deduct', { rawBody: '{"userId": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('VALIDATION_FAILED');
  });
});
