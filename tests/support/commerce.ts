/** Helpers for the commerce tests: channels in several currencies, coupons, sellers, prices. */
import { randomUUID } from 'node:crypto';
import { expectStatus, uniqueKey } from './fixtures';
import type { TestStack } from './stack';

export async function manualChannel(stack: TestStack, currencies: string[]): Promise<string> {
  const code = `man-${randomUUID().slice(0, 8)}`;
  expectStatus(await stack.call('POST', '/v1/admin/payment-channels', { as: 'admin', body: { code, kind: 'manual', name: 'Manual', currencies } }), 201, 'create channel');
  return code;
}

export function couponCode(prefix = 'C'): string {
  return `${prefix}${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
}

export async function createCoupon(stack: TestStack, fields: Record<string, unknown>) {
  return expectStatus(await stack.call('POST', '/v1/admin/coupons', { as: 'admin', body: { code: couponCode(), kind: 'percent', percentBasisPoints: 1500, ...fields } }), 201, 'create coupon');
}

export async function setPrices(stack: TestStack, packageId: string, prices: Array<{ currency: string; amountMinor: number }>) {
  return expectStatus(await stack.call('POST', `/v1/admin/packages/${packageId}/prices`, { as: 'admin', body: { prices } }), 200, 'set prices');
}

export async function createSeller(stack: TestStack, fields: Record<string, unknown> = {}) {
  return expectStatus(await stack.call('POST', '/v1/admin/sellers', { as: 'admin', body: { code: uniqueKey('seller'), name: 'A creator', ...fields } }), 201, 'create seller');
}

export function order(stack: TestStack, userId: string, body: Record<string, unknown>) {
  return stack.call('POST', '/v1/me/orders', { as: { user: userId }, body });
}

export async function markPaid(stack: TestStack, orderId: string) {
  return expectStatus(await stack.call('POST', `/v1/admin/orders/${orderId}/mark-paid`, { as: 'admin', body: { reason: 'bank transfer' } }), 202, 'mark paid');
}
