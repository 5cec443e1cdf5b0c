/**
 * Example answers shown in the OpenAPI document, one per shape, told as one story: user-42 buys the
 * Pro monthly package by Stripe, spends credits on resume_optimize, and an operator looks on. Typed
 * by the views they show, and parsed by their schemas in tests/unit/openapi-product.test.ts, so an
 * example cannot drift from what the API answers.
 */
import type { z } from '../platform/zod';
import type { actionPriceSchema, auditEventSchema, billingPackageSchema, publicActionPriceSchema, storefrontPackageSchema } from '../modules/catalog';
import type { consumptionSchema, grantSchema, refundSchema, reservationSchema } from '../modules/credits';
import type { couponSchema } from '../modules/coupons';
import type { deliverySchema, eventSchema, notificationSchema, webhookEndpointSchema } from '../modules/events';
import type { lifecycleReportSchema, scheduleSchema, userPackageWithTimerSchema } from '../modules/lifecycle';
import type { orderProgressSchema, orderRefundSchema, orderSchema, subscriptionSchema } from '../modules/orders';
import type { mismatchSchema, reportSummarySchema } from '../modules/reconciliation';
import type { ledgerEntrySchema, balanceGrantSchema, userGrantSchema } from '../modules/reports';
import type { sellerSchema } from '../modules/sellers';

type Example<T extends z.ZodType> = z.input<T>;

export const ids = {
  user: 'user-42',
  actionPrice: '0b6f3f9e-2c1d-4f0a-9a35-5b1c2d3e4f60',
  package: '3f2b8c1e-6d4a-4e7b-9c5d-1a2b3c4d5e6f',
  trialPackage: '5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d',
  grant: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a',
  trialGrant: '2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b',
  reservation: '7c9e1679-7425-40de-944b-e07fc1f90ae7',
  consumption: '4b5c6d7e-8f90-4a1b-8c2d-3e4f50617283',
  refund: 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f',
  order: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
  subscription: 'f0e1d2c3-b4a5-4968-8776-655443322110',
  orderRefund: 'e2d3c4b5-a697-4887-9a6b-5c4d3e2f1a0b',
  event: '8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d',
  endpoint: '6e5d4c3b-2a19-4807-b6a5-948372615049',
  delivery: 'd4c3b2a1-0f9e-48d7-a6b5-c4d3e2f1a0b9',
  notification: 'b7a69584-7362-4514-a3b2-c1d0e9f8a7b6',
  coupon: '1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5',
  seller: '3a4b5c6d-7e8f-4091-a2b3-c4d5e6f7a8b9',
  reconciliation: '5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9',
  mismatch: '7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d',
  lifecycleReport: '9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f',
  channel: '0d1e2f3a-4b5c-4d6e-9f7a-8b9c0d1e2f3a',
  invoice: '2b3c4d5e-6f70-4a81-92a3-b4c5d6e7f809',
  creditNote: '4d5e6f70-8192-4a3b-8c4d-5e6f708192a3',
} as const;

/**
 * An example page: the last one (`nextCursor` null). A cursor is opaque and particular to its list's
 * order, so no example shows one a client could be tempted to send to another list.
 */
export function examplePage<T>(item: T): { items: T[]; nextCursor: string | null } {
  return { items: [item], nextCursor: null };
}

// ---- catalog -------------------------------------------------------------------------------------

export const actionPrice: Example<typeof actionPriceSchema> = {
  id: ids.actionPrice,
  actionKey: 'resume_optimize',
  name: 'Resume optimization',
  creditsPerUnit: 5,
  status: 'active',
  createdAt: '2026-01-02T09:00:00.000Z',
  updatedAt: '2026-01-15T10:30:00.000Z',
};

export const publicActionPrice: Example<typeof publicActionPriceSchema> = {
  actionKey: actionPrice.actionKey,
  name: actionPrice.name,
  creditsPerUnit: actionPrice.creditsPerUnit,
};

export const billingPackage: Example<typeof billingPackageSchema> = {
  id: ids.package,
  code: 'pro_monthly',
  name: 'Pro monthly',
  type: 'hybrid',
  creditsAmount: 500,
  durationDays: 30,
  priceMinor: 999,
  currency: 'USD',
  visible: true,
  defaultPriority: 100,
  status: 'active',
  deletedAt: null,
  createdAt: '2026-01-02T09:05:00.000Z',
  updatedAt: '2026-01-02T09:05:00.000Z',
};

export const storefrontPackage: Example<typeof storefrontPackageSchema> = {
  id: billingPackage.id,
  code: billingPackage.code,
  name: billingPackage.name,
  type: billingPackage.type,
  creditsAmount: billingPackage.creditsAmount,
  durationDays: billingPackage.durationDays,
  priceMinor: billingPackage.priceMinor,
  currency: billingPackage.currency,
};

export const auditEvent: Example<typeof auditEventSchema> = {
  id: '1042',
  actor: 'admin-key-1',
  action: 'action_price.updated',
  entityType: 'action_price',
  entityId: 'resume_optimize',
  changes: { before: { creditsPerUnit: 4 }, after: { creditsPerUnit: 5 } },
  createdAt: '2026-01-15T10:30:00.000Z',
};

// ---- credits -------------------------------------------------------------------------------------

export const grant: Example<typeof grantSchema> = {
  id: ids.grant,
  userId: ids.user,
  packageId: ids.package,
  source: 'purchase',
  status: 'active',
  totalCredits: 500,
  usedCredits: 120,
  reservedCredits: 5,
  availableCredits: 375,
  priority: 100,
  startsAt: '2026-01-20T08:00:00.000Z',
  expiresAt: '2026-02-19T08:00:00.000Z',
  note: `order ${ids.order}`,
  createdAt: '2026-01-20T08:00:00.000Z',
};

export const trialGrant: Example<typeof grantSchema> = {
  ...grant,
  id: ids.trialGrant,
  packageId: ids.trialPackage,
  source: 'system',
  totalCredits: 20,
  usedCredits: 0,
  reservedCredits: 0,
  availableCredits: 20,
  priority: 10,
  startsAt: '2026-01-10T07:00:00.000Z',
  expiresAt: '2026-01-24T07:00:00.000Z',
  note: 'signup',
  createdAt: '2026-01-10T07:00:00.000Z',
};

export const balanceGrant: Example<typeof balanceGrantSchema> = { ...grant, spendable: true };

export const userGrant: Example<typeof userGrantSchema> = { ...grant, package: { code: billingPackage.code, name: billingPackage.name } };

export const userPackageWithTimer: Example<typeof userPackageWithTimerSchema> = { ...grant, timerWorkflowId: `package-lifecycle-${ids.grant}` };

export const consumption: Example<typeof consumptionSchema> = {
  id: ids.consumption,
  userId: ids.user,
  actionKey: 'resume_optimize',
  quantity: 1,
  unitPrice: 5,
  creditsCost: 5,
  creditsRefunded: 0,
  reservationId: ids.reservation,
  metadata: { documentId: 'doc-311' },
  allocations: [{ grantId: ids.grant, credits: 5 }],
  createdAt: '2026-01-31T12:00:04.000Z',
};

export const reservation: Example<typeof reservationSchema> = {
  id: ids.reservation,
  userId: ids.user,
  actionKey: 'resume_optimize',
  quantity: 1,
  unitPrice: 5,
  creditsHeld: 5,
  status: 'held',
  expiresAt: '2026-01-31T12:15:00.000Z',
  consumptionId: null,
  allocations: [{ grantId: ids.grant, credits: 5 }],
  createdAt: '2026-01-31T12:00:00.000Z',
  settledAt: null,
};

export const committedReservation: Example<typeof reservationSchema> = {
  ...reservation,
  status: 'committed',
  consumptionId: ids.consumption,
  settledAt: '2026-01-31T12:00:04.000Z',
};

export const refund: Example<typeof refundSchema> = {
  id: ids.refund,
  consumptionId: ids.consumption,
  credits: 5,
  reason: 'The optimization failed downstream.',
  consumptionCreditsRefunded: 5,
  returnedTo: [{ grantId: ids.grant, credits: 5, replacementFor: null }],
  createdAt: '2026-01-31T12:05:00.000Z',
};

export const ledgerEntry: Example<typeof ledgerEntrySchema> = {
  id: '88213',
  grantId: ids.grant,
  userId: ids.user,
  entryType: 'commit',
  amount: 0,
  reservedDelta: -5,
  usedDelta: 5,
  referenceType: 'reservation',
  referenceId: ids.reservation,
  idempotencyKey: 'commit-7c9e1679',
  actor: 'service-key-1',
  createdAt: '2026-01-31T12:00:04.000Z',
};

// ---- orders and payments -------------------------------------------------------------------------

export const order: Example<typeof orderSchema> = {
  id: ids.order,
  userId: ids.user,
  status: 'pending_payment',
  package: { id: ids.package, code: 'pro_monthly', name: 'Pro monthly', type: 'hybrid', creditsAmount: 500, durationDays: 30 },
  amountMinor: 799,
  currency: 'USD',
  channel: 'stripe',
  paymentUrl: 'https://checkout.stripe.com/c/pay/cs_test_a1b2c3',
  expiresAt: '2026-01-20T08:30:00.000Z',
  paidAt: null,
  completedAt: null,
  failureReason: null,
  subscriptionId: null,
  grantId: null,
  refundedMinor: 0,
  createdAt: '2026-01-20T08:00:00.000Z',
  listAmountMinor: 999,
  discountMinor: 200,
  couponCode: 'LAUNCH20',
  subtotalMinor: 799,
  taxMinor: 128,
  totalMinor: 799,
  tax: { mode: 'inclusive', rateBasisPoints: 1900, country: 'DE' },
};

export const completedOrder: Example<typeof orderSchema> = {
  ...order,
  status: 'completed',
  paidAt: '2026-01-20T08:02:10.000Z',
  completedAt: '2026-01-20T08:02:12.000Z',
  subscriptionId: ids.subscription,
  grantId: ids.grant,
};

export const orderProgress: Example<typeof orderProgressSchema> = {
  step: 'complete',
  attempts: 1,
  lastError: null,
  steps: [
    { name: 'create_payment', status: 'done', attempts: 1, lastError: null },
    { name: 'awaiting_payment', status: 'done', attempts: 1, lastError: null },
    { name: 'record_payment', status: 'done', attempts: 1, lastError: null },
    { name: 'subscribe', status: 'done', attempts: 1, lastError: null },
    { name: 'grant_credits', status: 'done', attempts: 1, lastError: null },
    { name: 'complete', status: 'done', attempts: 1, lastError: null },
  ],
};

export const orderRefund: Example<typeof orderRefundSchema> = {
  id: ids.orderRefund,
  orderId: ids.order,
  amountMinor: 799,
  reason: 'Customer asked within the refund window.',
  status: 'succeeded',
  gatewayRefundId: 're_3Nx0a1b2c3',
  creditsRevoked: 380,
  creditsShortfall: 120,
  secondsRevoked: 2_419_200,
  failureReason: null,
  createdAt: '2026-01-22T09:00:00.000Z',
  completedAt: '2026-01-22T09:00:03.000Z',
};

export const subscription: Example<typeof subscriptionSchema> = {
  id: ids.subscription,
  userId: ids.user,
  packageId: ids.package,
  status: 'active',
  currentPeriodStart: '2026-01-20T08:02:12.000Z',
  currentPeriodEnd: '2026-02-19T08:02:12.000Z',
  periods: [
    { orderId: ids.order, kind: 'start', periodStart: '2026-01-20T08:02:12.000Z', periodEnd: '2026-02-19T08:02:12.000Z', revokedSeconds: 0, grantId: ids.grant },
  ],
  createdAt: '2026-01-20T08:02:12.000Z',
};

export const publicChannel = { code: 'stripe', kind: 'stripe' as const, name: 'Card (Stripe)', displayOrder: 10, currencies: ['USD', 'EUR'] };

export const channel = {
  ...publicChannel,
  id: ids.channel,
  enabled: true,
  config: { successUrl: 'https://app.example.com/billing/done', cancelUrl: 'https://app.example.com/billing' },
  createdAt: '2026-01-02T08:00:00.000Z',
  updatedAt: '2026-01-02T08:00:00.000Z',
};

// ---- events, webhooks, notifications -------------------------------------------------------------

export const event: Example<typeof eventSchema> = {
  id: ids.event,
  type: 'credits.deducted',
  userId: ids.user,
  payload: { consumptionId: ids.consumption, actionKey: 'resume_optimize', quantity: 1, credits: 5 },
  occurredAt: '2026-01-31T12:00:04.000Z',
  relayedAt: '2026-01-31T12:00:04.350Z',
};

export const webhookEndpoint: Example<typeof webhookEndpointSchema> = {
  id: ids.endpoint,
  url: 'https://example.com/webhooks/billing',
  description: 'Backend of the resume app',
  eventTypes: ['credits.granted', 'balance.low', 'order.paid'],
  enabled: true,
  disabledReason: null,
  previousSecretExpiresAt: null,
  failingSince: null,
  createdAt: '2026-01-05T11:00:00.000Z',
  updatedAt: '2026-01-05T11:00:00.000Z',
};

export const delivery: Example<typeof deliverySchema> = {
  id: ids.delivery,
  eventId: ids.event,
  eventType: 'credits.deducted',
  endpointId: ids.endpoint,
  status: 'delivered',
  attemptCount: 2,
  lastError: null,
  nextAttemptAt: null,
  deliveredAt: '2026-01-31T12:00:09.500Z',
  createdAt: '2026-01-31T12:00:04.400Z',
  attempts: [
    { runId: 'b0c1d2e3-run', attempt: 1, scheduledAt: '2026-01-31T12:00:04.400Z', statusCode: 503, error: null, latencyMs: 212, responseExcerpt: 'Service Unavailable', createdAt: '2026-01-31T12:00:04.620Z' },
    { runId: 'b0c1d2e3-run', attempt: 2, scheduledAt: '2026-01-31T12:00:09.400Z', statusCode: 204, error: null, latencyMs: 96, responseExcerpt: '', createdAt: '2026-01-31T12:00:09.500Z' },
  ],
};

export const notification: Example<typeof notificationSchema> = {
  id: ids.notification,
  type: 'balance.low',
  title: 'Your credits are running low',
  body: 'You have 8 credits left. Top up to keep optimizing resumes.',
  eventId: ids.event,
  read: false,
  readAt: null,
  createdAt: '2026-01-31T12:00:05.000Z',
};

// ---- lifecycle ---------------------------------------------------------------------------------

export const lifecycleReport: Example<typeof lifecycleReportSchema> = {
  id: ids.lifecycleReport,
  kind: 'reconciliation',
  trigger: 'admin',
  scopeUserId: null,
  summary: { grantLedgerMismatches: 1, usersWithMismatches: 1, paidNotProvisioned: 0, provisionedWithoutPayment: 0 },
  items: [{ id: `grant:${ids.grant}`, kind: 'grant_ledger_mismatch', subjectId: ids.grant, userId: ids.user, details: { columns: { available: 375, reserved: 5, used: 120 }, ledger: { available: 370, reserved: 5, used: 120 } } }],
  startedAt: '2026-01-31T03:00:00.000Z',
  finishedAt: '2026-01-31T03:00:02.400Z',
};

export const schedule: Example<typeof scheduleSchema> = {
  id: 'billing-expiry-sweep',
  workflowType: 'expirySweepWorkflow',
  paused: false,
  note: null,
  spec: '{"intervals":[{"every":900000,"offset":0}]}',
  overlapPolicy: 'SKIP',
  catchupWindowSeconds: 3600,
  lastRuns: [{ scheduledAt: '2026-01-31T11:45:00.000Z', takenAt: '2026-01-31T11:45:00.120Z', workflowId: 'billing-expiry-sweep-2026-01-31T11:45:00Z' }],
  nextRuns: ['2026-01-31T12:15:00.000Z', '2026-01-31T12:30:00.000Z'],
};

// ---- commerce ----------------------------------------------------------------------------------

export const coupon: Example<typeof couponSchema> = {
  id: ids.coupon,
  code: 'LAUNCH20',
  kind: 'percent',
  percentBasisPoints: 2000,
  amountsOff: null,
  validFrom: '2026-01-01T00:00:00.000Z',
  validUntil: '2026-03-31T23:59:59.000Z',
  maxRedemptions: 1000,
  maxPerUser: 1,
  packageIds: [ids.package],
  firstPurchaseOnly: true,
  enabled: true,
  usedCount: 57,
  createdAt: '2026-01-01T09:00:00.000Z',
  updatedAt: '2026-01-01T09:00:00.000Z',
};

export const seller: Example<typeof sellerSchema> = {
  id: ids.seller,
  code: 'career_coach_ana',
  name: 'Ana, career coach',
  platformFeeBasisPoints: 1500,
  enabled: true,
  packageCodes: ['pro_monthly'],
  createdAt: '2026-01-03T10:00:00.000Z',
  updatedAt: '2026-01-03T10:00:00.000Z',
};

export const reconciliationSummary: Example<typeof reportSummarySchema> = {
  id: ids.reconciliation,
  channel: 'stripe',
  from: '2026-01-30T00:00:00.000Z',
  to: '2026-01-31T00:00:00.000Z',
  trigger: 'schedule',
  localCount: 212,
  remoteCount: 213,
  mismatchCount: 1,
  createdAt: '2026-01-31T02:00:05.000Z',
};

export const mismatch: Example<typeof mismatchSchema> = {
  id: ids.mismatch,
  kind: 'paid_not_provisioned',
  orderId: ids.order,
  externalId: 'pi_3Nx0a1b2c3',
  ours: { status: 'pending_payment' },
  theirs: { amountMinor: 799, currency: 'USD', status: 'succeeded' },
  redrivable: true,
  redrivenAt: null,
  redrivenBy: null,
};
