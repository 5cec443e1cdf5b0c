/** Admin CRUD of sellers and which packages they own: idempotent, audited. Delete is disable. */
import { BillingError } from '../../platform/errors';
import { DEFAULT_PLATFORM_FEE_BASIS_POINTS } from './rules/revenue-split';
import type { Seller } from '../../generated/prisma/client';
import { uniqueOrConflict, type Database, type Tx } from '../../platform/database';
import { OLDEST_FIRST, type Page, type PageRequest } from '../../platform/pagination';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';
import { sellerView, type SellerView } from './views';
import { recordAudit } from '../catalog';

export interface SellerFields {
  code: string;
  name: string;
  platformFeeBasisPoints?: number | undefined;
  enabled?: boolean | undefined;
  /** The packages this seller owns (replaces the list when given). */
  packageCodes?: string[] | undefined;
}

async function viewOf(db: Database | Tx, seller: Seller): Promise<SellerView> {
  const owned = await db.sellerPackage.findMany({ where: { sellerId: seller.id }, select: { packageId: true } });
  const packages = await db.billingPackage.findMany({ where: { id: { in: owned.map((o) => o.packageId) } }, select: { code: true }, orderBy: { code: 'asc' } });
  return sellerView(seller, packages.map((p) => p.code));
}

async function assignPackages(tx: Tx, sellerId: string, codes: string[]): Promise<void> {
  // The packages' rows locked, in one order: sellers claiming one package take turns, so the check
  // below sees a claim committed meanwhile (two concurrent claims would otherwise both pass it, and the
  // second INSERT fail on the package's primary key).
  const packages = await tx.$queryRaw<Array<{ id: string; code: string }>>`
    SELECT id::text AS id, code FROM billing_packages
    WHERE code = ANY(${codes}::text[]) AND deleted_at IS NULL
    ORDER BY id FOR UPDATE`;
  const missing = codes.filter((code) => !packages.some((p) => p.code === code));
  if (missing.length > 0) throw new BillingError('NOT_FOUND', `Unknown package codes: ${missing.join(', ')}.`, { packageCodes: missing });
  const taken = await tx.sellerPackage.findMany({ where: { packageId: { in: packages.map((p) => p.id) }, sellerId: { not: sellerId } } });
  if (taken.length > 0) {
    throw new BillingError('ALREADY_EXISTS', 'A package already belongs to another seller.', { packageIds: taken.map((t) => t.packageId) });
  }
  await tx.sellerPackage.deleteMany({ where: { sellerId } });
  if (packages.length > 0) await tx.sellerPackage.createMany({ data: packages.map((p) => ({ packageId: p.id, sellerId })) });
}

async function audit(tx: Tx, actor: string, action: string, entityId: string, before: unknown, after: unknown, idempotency: Idempotency) {
  await recordAudit(tx, { actor, action, entityType: 'seller', entityId, before, after }, idempotency);
}

export async function createSeller(db: Database, fields: SellerFields, idempotency: Idempotency, actor: string): Promise<IdempotentResult<SellerView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const seller = await uniqueOrConflict(
      () =>
        tx.seller.create({
          data: {
            code: fields.code,
            name: fields.name,
            platformFeeBasisPoints: fields.platformFeeBasisPoints ?? DEFAULT_PLATFORM_FEE_BASIS_POINTS,
            enabled: fields.enabled ?? true,
          },
        }),
      `Seller "${fields.code}" exists.`,
      { code: fields.code },
    );
    if (fields.packageCodes) await assignPackages(tx, seller.id, fields.packageCodes);
    const view = await viewOf(tx, seller);
    await audit(tx, actor, 'seller.created', seller.id, null, view, idempotency);
    return view;
  });
}

export async function updateSeller(
  db: Database,
  sellerId: string,
  patch: Partial<Omit<SellerFields, 'code'>>,
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<SellerView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const before = await tx.seller.findUnique({ where: { id: sellerId } });
    if (!before) throw new BillingError('NOT_FOUND', `Seller ${sellerId} not found.`, { sellerId });
    const beforeView = await viewOf(tx, before);
    const { packageCodes, ...fields } = patch;
    const seller = await tx.seller.update({ where: { id: sellerId }, data: fields });
    if (packageCodes) await assignPackages(tx, sellerId, packageCodes);
    const view = await viewOf(tx, seller);
    await audit(tx, actor, 'seller.updated', sellerId, beforeView, view, idempotency);
    return view;
  });
}

export async function getSeller(db: Database, sellerId: string): Promise<SellerView> {
  const seller = await db.seller.findUnique({ where: { id: sellerId } });
  if (!seller) throw new BillingError('NOT_FOUND', `Seller ${sellerId} not found.`, { sellerId });
  return viewOf(db, seller);
}

/** Oldest first. */
export async function listSellers(db: Database, page: PageRequest): Promise<Page<SellerView>> {
  const sellers = await db.seller.findMany({ where: OLDEST_FIRST.after(page.cursor), orderBy: OLDEST_FIRST.orderBy, take: OLDEST_FIRST.take(page) });
  const found = OLDEST_FIRST.page(sellers, page);
  return { items: await Promise.all(found.items.map((seller) => viewOf(db, seller))), nextCursor: found.nextCursor };
}
