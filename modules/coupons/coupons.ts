/** Admin CRUD of coupons: each write idempotent and audited in the same transaction. Delete is disable. */
import { BillingError } from '../../platform/errors';
import { Prisma, type Coupon } from '../../generated/prisma/client';
import { uniqueOrConflict, type Database, type Tx } from '../../platform/database';
import { NEWEST_FIRST, type Page, type PageRequest } from '../../platform/pagination';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';
import { couponView, type CouponView } from './views';
import { recordAudit } from '../catalog';

export interface CouponFields {
  code: string;
  kind: 'percent' | 'fixed';
  percentBasisPoints?: number | null | undefined;
  amountsOff?: Record<string, number> | null | undefined;
  validFrom?: string | null | undefined;
  validUntil?: string | null | undefined;
  maxRedemptions?: number | null | undefined;
  maxPerUser?: number | null | undefined;
  packageCodes?: string[] | null | undefined;
  firstPurchaseOnly?: boolean | undefined;
  enabled?: boolean | undefined;
}

export type CouponPatch = Partial<Omit<CouponFields, 'code' | 'kind'>>;

async function packageIdsFor(tx: Tx, codes: string[] | null | undefined): Promise<string[] | null | undefined> {
  if (codes === undefined || codes === null) return codes;
  const packages = await tx.billingPackage.findMany({ where: { code: { in: codes }, deletedAt: null }, select: { id: true, code: true } });
  const missing = codes.filter((code) => !packages.some((p) => p.code === code));
  if (missing.length > 0) throw new BillingError('NOT_FOUND', `Unknown package codes: ${missing.join(', ')}.`, { packageCodes: missing });
  return packages.map((p) => p.id);
}

const json = (value: unknown) => (value === null ? Prisma.DbNull : (value as Prisma.InputJsonValue));
const date = (value: string | null | undefined) => (value === undefined ? undefined : value === null ? null : new Date(value));

function checkShape(coupon: Pick<Coupon, 'kind' | 'percentBasisPoints' | 'amountsOff' | 'validFrom' | 'validUntil'>): void {
  if (coupon.kind === 'percent' && !coupon.percentBasisPoints) {
    throw new BillingError('VALIDATION_FAILED', 'A percent coupon needs percentBasisPoints.', { issues: [{ path: 'percentBasisPoints', message: 'required for kind percent' }] });
  }
  if (coupon.kind === 'fixed' && (!coupon.amountsOff || Object.keys(coupon.amountsOff as object).length === 0)) {
    throw new BillingError('VALIDATION_FAILED', 'A fixed coupon needs amountsOff.', { issues: [{ path: 'amountsOff', message: 'required for kind fixed' }] });
  }
  if (coupon.validFrom && coupon.validUntil && coupon.validFrom >= coupon.validUntil) {
    throw new BillingError('VALIDATION_FAILED', 'validFrom must be before validUntil.', { issues: [{ path: 'validFrom', message: 'must be before validUntil' }] });
  }
}

async function audit(tx: Tx, actor: string, action: string, entityId: string, before: unknown, after: unknown, idempotency: Idempotency) {
  await recordAudit(tx, { actor, action, entityType: 'coupon', entityId, before, after }, idempotency);
}

export async function createCoupon(db: Database, fields: CouponFields, idempotency: Idempotency, actor: string): Promise<IdempotentResult<CouponView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    if (await tx.coupon.findUnique({ where: { code: fields.code } })) throw new BillingError('ALREADY_EXISTS', `Coupon "${fields.code}" exists.`, { code: fields.code });
    const packageIds = await packageIdsFor(tx, fields.packageCodes);
    const data = {
      code: fields.code,
      kind: fields.kind,
      percentBasisPoints: fields.kind === 'percent' ? (fields.percentBasisPoints ?? null) : null,
      amountsOff: fields.kind === 'fixed' ? (fields.amountsOff ?? null) : null,
      validFrom: date(fields.validFrom) ?? null,
      validUntil: date(fields.validUntil) ?? null,
      maxRedemptions: fields.maxRedemptions ?? null,
      maxPerUser: fields.maxPerUser ?? null,
      packageIds: packageIds ?? null,
      firstPurchaseOnly: fields.firstPurchaseOnly ?? false,
      enabled: fields.enabled ?? true,
    };
    checkShape(data);
    const created = await uniqueOrConflict(
      () => tx.coupon.create({ data: { ...data, amountsOff: json(data.amountsOff), packageIds: json(data.packageIds) } }),
      `Coupon "${fields.code}" exists.`,
      { code: fields.code },
    );
    const view = couponView(created);
    await audit(tx, actor, 'coupon.created', created.id, null, view, idempotency);
    return view;
  });
}

export async function updateCoupon(db: Database, code: string, patch: CouponPatch, idempotency: Idempotency, actor: string): Promise<IdempotentResult<CouponView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const before = await tx.coupon.findUnique({ where: { code } });
    if (!before) throw new BillingError('NOT_FOUND', `Coupon "${code}" not found.`, { code });
    const packageIds = await packageIdsFor(tx, patch.packageCodes);
    const next = {
      ...(patch.percentBasisPoints !== undefined && before.kind === 'percent' ? { percentBasisPoints: patch.percentBasisPoints } : {}),
      ...(patch.amountsOff !== undefined && before.kind === 'fixed' ? { amountsOff: patch.amountsOff } : {}),
      ...(patch.validFrom !== undefined ? { validFrom: date(patch.validFrom) } : {}),
      ...(patch.validUntil !== undefined ? { validUntil: date(patch.validUntil) } : {}),
      ...(patch.maxRedemptions !== undefined ? { maxRedemptions: patch.maxRedemptions } : {}),
      ...(patch.maxPerUser !== undefined ? { maxPerUser: patch.maxPerUser } : {}),
      ...(packageIds !== undefined ? { packageIds } : {}),
      ...(patch.firstPurchaseOnly !== undefined ? { firstPurchaseOnly: patch.firstPurchaseOnly } : {}),
      ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
    };
    checkShape({ ...before, ...next } as Coupon);
    if (next.maxRedemptions !== undefined && next.maxRedemptions !== null && next.maxRedemptions < before.usedCount) {
      throw new BillingError('VALIDATION_FAILED', `maxRedemptions cannot go below the ${before.usedCount} uses already taken.`, {
        issues: [{ path: 'maxRedemptions', message: `at least ${before.usedCount}` }],
      });
    }
    const { amountsOff, packageIds: ids, ...plain } = next as typeof next & { amountsOff?: unknown; packageIds?: unknown };
    const updated = await tx.coupon.update({
      where: { code },
      data: { ...plain, ...(amountsOff !== undefined ? { amountsOff: json(amountsOff) } : {}), ...(ids !== undefined ? { packageIds: json(ids) } : {}) },
    });
    const view = couponView(updated);
    await audit(tx, actor, 'coupon.updated', updated.id, couponView(before), view, idempotency);
    return view;
  });
}

export async function getCoupon(db: Database, code: string): Promise<CouponView> {
  const coupon = await db.coupon.findUnique({ where: { code } });
  if (!coupon) throw new BillingError('NOT_FOUND', `Coupon "${code}" not found.`, { code });
  return couponView(coupon);
}

/** Newest first. */
export async function listCoupons(db: Database, filter: { enabled?: boolean | undefined }, page: PageRequest): Promise<Page<CouponView>> {
  const coupons = await db.coupon.findMany({
    where: { AND: [filter.enabled === undefined ? {} : { enabled: filter.enabled }, NEWEST_FIRST.after(page.cursor)] },
    orderBy: NEWEST_FIRST.orderBy,
    take: NEWEST_FIRST.take(page),
  });
  return NEWEST_FIRST.page(coupons, page, couponView);
}
