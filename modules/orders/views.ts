/**
 * JSON shapes of orders, subscriptions and refunds: zod schemas (which also document the API) with
 * the view types inferred from them, so the two cannot drift apart.
 */
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from '../../platform/zod';
import { ORDER_STATUSES } from './rules/order-status';
import type { Order, OrderRefund, Subscription, SubscriptionPeriod } from '../../generated/prisma/client';
import { uuidSchema } from '../../platform/schemas';

extendZodWithOpenApi(z);

export const orderStatusSchema = z.enum(ORDER_STATUSES);

export const orderProgressSchema = z
  .object({
    step: z.string().openapi({ description: 'Current or last step: create_payment, awaiting_payment, record_payment, subscribe, grant_credits, complete, compensating, …' }),
    attempts: z.number().int().openapi({ description: 'Attempts of the current step.' }),
    lastError: z.string().nullable(),
    steps: z.array(z.object({ name: z.string(), status: z.enum(['running', 'done', 'failed', 'skipped']), attempts: z.number().int(), lastError: z.string().nullable() })),
  })
  .openapi('OrderProgress');

export const orderSchema = z
  .object({
    id: uuidSchema,
    userId: z.string(),
    status: orderStatusSchema,
    package: z.object({
      id: uuidSchema,
      code: z.string(),
      name: z.string(),
      type: z.enum(['duration', 'credits', 'hybrid', 'permanent']),
      creditsAmount: z.number().int(),
      durationDays: z.number().int().nullable(),
    }),
    amountMinor: z.number().int(),
    currency: z.string(),
    channel: z.string(),
    paymentUrl: z.string().nullable().openapi({ description: 'Where the buyer pays (Stripe Checkout or the signed gateway redirect); null for manual.' }),
    expiresAt: z.string(),
    paidAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    failureReason: z.string().nullable(),
    subscriptionId: uuidSchema.nullable(),
    grantId: uuidSchema.nullable(),
    refundedMinor: z.number().int(),
    createdAt: z.string(),
    // Commerce (added fields; absent in answers stored before it): price before the coupon, what it took off.
    listAmountMinor: z.number().int().optional().openapi({ description: "The package's price in the order's currency before a coupon." }),
    discountMinor: z.number().int().optional(),
    couponCode: z.string().nullable().optional(),
    // Tax (added fields; absent in answers stored before it), fixed when the order was placed.
    subtotalMinor: z.number().int().optional().openapi({ description: 'The price after the coupon: before tax with `tax.mode` `exclusive`, tax included with `inclusive`.' }),
    taxMinor: z.number().int().optional().openapi({ description: 'The tax: added to the subtotal (`exclusive`) or the part of it that is tax (`inclusive`). 0 when `tax` is null.' }),
    totalMinor: z.number().int().optional().openapi({ description: 'What the buyer is charged, whatever the channel (equal to `amountMinor`), and what the invoice totals.' }),
    tax: z
      .object({
        mode: z.enum(['inclusive', 'exclusive']),
        rateBasisPoints: z.number().int().openapi({ description: '1900 = 19 %.' }),
        country: z.string().nullable().openapi({ description: "The buyer's billing country at placement; null: none set, the default rate." }),
      })
      .nullable()
      .optional()
      .openapi({ description: 'How the tax was fixed at placement; null for an order placed before tax was fixed at placement.' }),
  })
  .openapi('Order');

export const orderWithProgressSchema = orderSchema
  .extend({ progress: orderProgressSchema.nullable().openapi({ description: "The order workflow's progress (null when it cannot be asked right now)." }) })
  .openapi('OrderWithProgress');

const subscriptionPeriodSchema = z.object({
  orderId: uuidSchema,
  kind: z.enum(['start', 'renewal', 'restart']),
  periodStart: z.string(),
  periodEnd: z.string().nullable(),
  revokedSeconds: z.number().int(),
  grantId: uuidSchema.nullable(),
});

export const subscriptionSchema = z
  .object({
    id: uuidSchema,
    userId: z.string(),
    packageId: uuidSchema,
    status: z.enum(['active', 'expired', 'cancelled']),
    currentPeriodStart: z.string(),
    currentPeriodEnd: z.string().nullable(),
    periods: z.array(subscriptionPeriodSchema),
    createdAt: z.string(),
  })
  .openapi('Subscription');

export const orderRefundSchema = z
  .object({
    id: uuidSchema,
    orderId: uuidSchema,
    amountMinor: z.number().int(),
    reason: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed']),
    gatewayRefundId: z.string().nullable(),
    creditsRevoked: z.number().int(),
    creditsShortfall: z.number().int().openapi({ description: 'Credits the proportion asked for that were already spent (never clawed back below zero).' }),
    secondsRevoked: z.number().int(),
    failureReason: z.string().nullable(),
    createdAt: z.string(),
    completedAt: z.string().nullable(),
  })
  .openapi('OrderRefund');

export type OrderView = z.infer<typeof orderSchema>;
export type OrderProgress = z.infer<typeof orderProgressSchema>;
export type SubscriptionView = z.infer<typeof subscriptionSchema>;
export type OrderRefundView = z.infer<typeof orderRefundSchema>;

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

function taxView(order: Order): Pick<OrderView, 'subtotalMinor' | 'taxMinor' | 'totalMinor' | 'tax'> {
  const fixed = order.taxMode !== null && order.taxRateBasisPoints !== null;
  return {
    subtotalMinor: order.subtotalMinor ?? order.amountMinor,
    taxMinor: order.taxMinor ?? 0,
    totalMinor: order.amountMinor,
    tax: fixed ? { mode: order.taxMode as 'inclusive' | 'exclusive', rateBasisPoints: order.taxRateBasisPoints!, country: order.taxCountry } : null,
  };
}

export function orderView(order: Order): OrderView {
  return {
    id: order.id,
    userId: order.userId,
    status: order.status,
    package: {
      id: order.packageId,
      code: order.packageCode,
      name: order.packageName,
      type: order.packageType,
      creditsAmount: order.creditsAmount,
      durationDays: order.durationDays,
    },
    amountMinor: order.amountMinor,
    currency: order.currency,
    channel: order.channelCode,
    paymentUrl: order.paymentUrl,
    expiresAt: order.expiresAt.toISOString(),
    paidAt: iso(order.paidAt),
    completedAt: iso(order.completedAt),
    failureReason: order.failureReason,
    subscriptionId: order.subscriptionId,
    grantId: order.grantId,
    refundedMinor: order.refundedMinor,
    listAmountMinor: order.listAmountMinor ?? order.amountMinor,
    discountMinor: order.discountMinor,
    couponCode: order.couponCode,
    ...taxView(order),
    createdAt: order.createdAt.toISOString(),
  };
}

export function subscriptionView(subscription: Subscription & { periods: SubscriptionPeriod[] }): SubscriptionView {
  return {
    id: subscription.id,
    userId: subscription.userId,
    packageId: subscription.packageId,
    status: subscription.status,
    currentPeriodStart: subscription.currentPeriodStart.toISOString(),
    currentPeriodEnd: iso(subscription.currentPeriodEnd),
    periods: subscription.periods
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .map((period) => ({
        orderId: period.orderId,
        kind: period.kind as 'start' | 'renewal' | 'restart',
        periodStart: period.periodStart.toISOString(),
        periodEnd: iso(period.periodEnd),
        revokedSeconds: period.revokedSeconds,
        grantId: period.grantId,
      })),
    createdAt: subscription.createdAt.toISOString(),
  };
}

export function orderRefundView(refund: OrderRefund): OrderRefundView {
  return {
    id: refund.id,
    orderId: refund.orderId,
    amountMinor: refund.amountMinor,
    reason: refund.reason,
    status: refund.status,
    gatewayRefundId: refund.gatewayRefundId,
    creditsRevoked: refund.creditsRevoked,
    creditsShortfall: refund.creditsShortfall,
    secondsRevoked: refund.secondsRevoked,
    failureReason: refund.failureReason,
    createdAt: refund.createdAt.toISOString(),
    completedAt: iso(refund.completedAt),
  };
}
