/**
 * Small helpers shared by the API-level tests: unique catalog names (test files share one database
 * and run in parallel, so nothing may depend on a fixed key), and one-line calls for the common
 * admin and service requests that fail loudly when the setup call itself did not succeed.
 */
import { randomUUID } from 'node:crypto';
import type { ApiResponse, TestStack } from './stack';

/** lower_snake_case key that no other test (or run) uses: valid as actionKey and as package code. */
export function uniqueKey(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

/** Throws with the whole answer when a setup call did not get the status it needs. */
export function expectStatus<T>(response: ApiResponse<T>, status: number, what: string): T {
  if (response.status !== status) {
    throw new Error(`${what}: expected HTTP ${status}, got ${response.status}: ${JSON.stringify(response.body)}`);
  }
  return response.body;
}

/** The `path` of every issue in a VALIDATION_FAILED answer. */
export function issuePaths(response: ApiResponse): string[] {
  return (response.body?.error?.details?.issues ?? []).map((issue: { path: string }) => issue.path);
}

export interface ActionPriceFields {
  actionKey: string;
  name: string;
  creditsPerUnit: number;
  status?: 'active' | 'disabled';
}

export async function createActionPrice(stack: TestStack, fields: Partial<ActionPriceFields> = {}) {
  const body = { actionKey: uniqueKey('action'), name: 'Test action', creditsPerUnit: 2, ...fields };
  return expectStatus(await stack.call('POST', '/v1/admin/action-prices', { as: 'admin', body }), 201, 'create action price');
}

export interface PackageFields {
  code: string;
  name: string;
  type: 'duration' | 'credits' | 'hybrid' | 'permanent';
  creditsAmount: number;
  durationDays?: number | null;
  priceMinor: number;
  currency: string;
  visible?: boolean;
  defaultPriority?: number;
  status?: 'active' | 'disabled';
}

/** A valid hybrid package unless overridden. */
export function packageFields(fields: Partial<PackageFields> = {}): PackageFields {
  return {
    code: uniqueKey('pkg'),
    name: 'Test package',
    type: 'hybrid',
    creditsAmount: 100,
    durationDays: 30,
    priceMinor: 999,
    currency: 'USD',
    ...fields,
  };
}

export async function createPackage(stack: TestStack, fields: Partial<PackageFields> = {}) {
  const body = packageFields(fields);
  return expectStatus(await stack.call('POST', '/v1/admin/packages', { as: 'admin', body }), 201, 'create package');
}

export function updatePackage(stack: TestStack, packageId: string, changes: Record<string, unknown>) {
  return stack.call('PATCH', `/v1/admin/packages/${packageId}`, { as: 'admin', body: changes });
}

export function updateActionPrice(stack: TestStack, actionKey: string, changes: Record<string, unknown>) {
  return stack.call('PATCH', `/v1/admin/action-prices/${actionKey}`, { as: 'admin', body: changes });
}

export function assignPackage(stack: TestStack, userId: string, body: Record<string, unknown>, idempotencyKey?: string) {
  return stack.call('POST', `/v1/admin/users/${encodeURIComponent(userId)}/packages`, { as: 'admin', body, idempotencyKey });
}

export function deduct(stack: TestStack, userId: string, actionKey: string, quantity = 1, metadata?: Record<string, unknown>) {
  return stack.call('POST', '/v1/internal/credits/deduct', {
    body: { userId, actionKey, quantity, ...(metadata ? { metadata } : {}) },
  });
}

/** A deduct that must succeed; returns the consumption. */
export async function deductOk(stack: TestStack, userId: string, actionKey: string, quantity = 1, metadata?: Record<string, unknown>) {
  return expectStatus(await deduct(stack, userId, actionKey, quantity, metadata), 201, `deduct ${actionKey} x${quantity}`);
}

/** Moves a consumption to a known instant, so ordering, day buckets and time filters are deterministic. */
export async function setConsumptionTime(stack: TestStack, consumptionId: string, at: Date | string): Promise<void> {
  await stack.db.consumptionRecord.update({ where: { id: consumptionId }, data: { createdAt: new Date(at) } });
}

/** Query string from defined values only. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) search.set(name, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const isoString = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
export const uuidString = expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
