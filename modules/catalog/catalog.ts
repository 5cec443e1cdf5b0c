/**
 * The catalog: action prices (what an action costs) and packages (what a user can be granted).
 * Writes run through runIdempotent so a retried admin call replays its first answer.
 * Changing a price never rewrites history: consumption rows snapshot the unit price when charged.
 */
import { uniqueOrConflict, type Database, type Tx } from '../../platform/database';
import { keysetOrder, type Page, type PageRequest } from '../../platform/pagination';
import type { BillingPackage } from '../../generated/prisma/client';
import type { ActionPriceStatus, PackageStatus, PackageType } from '../../generated/prisma/enums';
import { BillingError } from '../../platform/errors';
import { packageRuleViolations } from './rules/packages';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';
import { recordEvent } from '../../platform/outbox/record';
import { recordAudit } from './audit';
import {
  actionPriceView,
  packageView,
  storefrontPackageView,
  type ActionPriceView,
  type PackageView,
  type PublicActionPriceView,
  type StorefrontPackageView,
} from './views';

// ---------------------------------------------------------------------------------------------
// Action prices
// ---------------------------------------------------------------------------------------------

export interface CreateActionPriceInput {
  actionKey: string;
  name: string;
  creditsPerUnit: number;
  status?: ActionPriceStatus | undefined;
}

export interface UpdateActionPriceInput {
  name?: string | undefined;
  creditsPerUnit?: number | undefined;
  status?: ActionPriceStatus | undefined;
}

const BY_ACTION_KEY = keysetOrder({ field: 'actionKey', direction: 'asc', kind: 'text' });

export async function listActivePrices(db: Database, page: PageRequest): Promise<Page<PublicActionPriceView>> {
  const prices = await db.actionPrice.findMany({
    where: { AND: [{ status: 'active' }, BY_ACTION_KEY.after(page.cursor)] },
    orderBy: BY_ACTION_KEY.orderBy,
    take: BY_ACTION_KEY.take(page),
  });
  return BY_ACTION_KEY.page(prices, page, ({ actionKey, name, creditsPerUnit }) => ({ actionKey, name, creditsPerUnit }));
}

export async function listActionPrices(db: Database, page: PageRequest): Promise<Page<ActionPriceView>> {
  const prices = await db.actionPrice.findMany({ where: BY_ACTION_KEY.after(page.cursor), orderBy: BY_ACTION_KEY.orderBy, take: BY_ACTION_KEY.take(page) });
  return BY_ACTION_KEY.page(prices, page, actionPriceView);
}

export async function createActionPrice(
  db: Database,
  input: CreateActionPriceInput,
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<ActionPriceView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const price = await uniqueOrConflict(
      () => tx.actionPrice.create({ data: input }),
      `An action price with actionKey "${input.actionKey}" already exists.`,
      { actionKey: input.actionKey },
    );
    const after = actionPriceView(price);
    await recordAudit(tx, { actor, action: 'action_price.created', entityType: 'action_price', entityId: price.actionKey, before: null, after }, idempotency);
    await recordEvent(tx, { type: 'action_price.changed', userId: null, payload: { actionKey: after.actionKey, before: null, after: priceFacts(after) } });
    return after;
  });
}

export async function updateActionPrice(
  db: Database,
  actionKey: string,
  changes: UpdateActionPriceInput,
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<ActionPriceView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const current = await tx.actionPrice.findUnique({ where: { actionKey } });
    if (!current) throw new BillingError('NOT_FOUND', `Action price "${actionKey}" not found.`, { actionKey });
    const after = actionPriceView(await tx.actionPrice.update({ where: { actionKey }, data: changes }));
    await recordAudit(
      tx,
      { actor, action: 'action_price.updated', entityType: 'action_price', entityId: actionKey, before: actionPriceView(current), after },
      idempotency,
    );
    await recordEvent(tx, {
      type: 'action_price.changed',
      userId: null,
      payload: { actionKey, before: priceFacts(actionPriceView(current)), after: priceFacts(after) },
    });
    return after;
  });
}

/** What an action_price.changed event tells about a price. */
function priceFacts(price: ActionPriceView) {
  return { name: price.name, creditsPerUnit: price.creditsPerUnit, status: price.status };
}

// ---------------------------------------------------------------------------------------------
// Packages
// ---------------------------------------------------------------------------------------------

export interface CreatePackageInput {
  code: string;
  name: string;
  type: PackageType;
  creditsAmount: number;
  durationDays?: number | null | undefined;
  priceMinor: number;
  currency: string;
  visible?: boolean | undefined;
  defaultPriority?: number | undefined;
  status?: PackageStatus | undefined;
}

export interface UpdatePackageInput {
  name?: string | undefined;
  creditsAmount?: number | undefined;
  durationDays?: number | null | undefined;
  priceMinor?: number | undefined;
  currency?: string | undefined;
  visible?: boolean | undefined;
  defaultPriority?: number | undefined;
  status?: PackageStatus | undefined;
}

/** What a storefront may offer: visible, active and not deleted. */
/**
 * The package a buyer names, if it can be bought now: NOT_FOUND when unknown or deleted,
 * PACKAGE_UNAVAILABLE when retired or hidden. The one rule for placing an order and previewing a coupon.
 */
export async function packageOnSale(db: Tx | Database, code: string): Promise<BillingPackage> {
  const billingPackage = await db.billingPackage.findUnique({ where: { code } });
  if (!billingPackage || billingPackage.deletedAt) throw new BillingError('NOT_FOUND', `Package "${code}" not found.`, { packageCode: code });
  if (billingPackage.status !== 'active' || !billingPackage.visible) {
    throw new BillingError('PACKAGE_UNAVAILABLE', `Package "${code}" is not on sale.`, { packageCode: code });
  }
  return billingPackage;
}

const CHEAPEST_FIRST = keysetOrder({ field: 'priceMinor', direction: 'asc', kind: 'int' }, { field: 'code', direction: 'asc', kind: 'text' });
const BY_CODE = keysetOrder({ field: 'code', direction: 'asc', kind: 'text' });

export async function listStorefrontPackages(db: Database, page: PageRequest): Promise<Page<StorefrontPackageView>> {
  const packages = await db.billingPackage.findMany({
    where: { AND: [{ visible: true, status: 'active', deletedAt: null }, CHEAPEST_FIRST.after(page.cursor)] },
    orderBy: CHEAPEST_FIRST.orderBy,
    take: CHEAPEST_FIRST.take(page),
  });
  return CHEAPEST_FIRST.page(packages, page, storefrontPackageView);
}

export async function listPackages(db: Database, options: { includeDeleted: boolean }, page: PageRequest): Promise<Page<PackageView>> {
  const packages = await db.billingPackage.findMany({
    where: { AND: [options.includeDeleted ? {} : { deletedAt: null }, BY_CODE.after(page.cursor)] },
    orderBy: BY_CODE.orderBy,
    take: BY_CODE.take(page),
  });
  return BY_CODE.page(packages, page, packageView);
}

/** One package, deleted ones included (they still explain old grants). */
export async function getPackage(db: Database, packageId: string): Promise<PackageView> {
  const billingPackage = await db.billingPackage.findUnique({ where: { id: packageId } });
  if (!billingPackage) throw packageNotFound(packageId);
  return packageView(billingPackage);
}

export async function createPackage(
  db: Database,
  input: CreatePackageInput,
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<PackageView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const created = await uniqueOrConflict(
      () => tx.billingPackage.create({ data: { ...input, durationDays: input.durationDays ?? null } }),
      `A package with code "${input.code}" already exists.`,
      { code: input.code },
    );
    const after = packageView(created);
    await recordAudit(tx, { actor, action: 'billing_package.created', entityType: 'billing_package', entityId: created.id, before: null, after }, idempotency);
    return after;
  });
}

/** Updates a live package; the type rules are checked on the package as it would be after the change. */
export async function updatePackage(
  db: Database,
  packageId: string,
  changes: UpdatePackageInput,
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<PackageView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const current = await tx.billingPackage.findUnique({ where: { id: packageId } });
    if (!current || current.deletedAt) throw packageNotFound(packageId);
    const violations = packageRuleViolations({
      type: current.type,
      creditsAmount: changes.creditsAmount ?? current.creditsAmount,
      durationDays: changes.durationDays === undefined ? current.durationDays : changes.durationDays,
    });
    if (violations.length > 0) {
      // Same shape as a schema failure, so clients handle both alike.
      throw new BillingError('VALIDATION_FAILED', 'Invalid request body.', {
        issues: violations.map((v) => ({ path: `body.${v.path}`, message: v.message })),
      });
    }
    // The deletedAt guard in the write itself: a delete that committed since the read wins.
    const { count } = await tx.billingPackage.updateMany({ where: { id: packageId, deletedAt: null }, data: changes });
    if (count === 0) throw packageNotFound(packageId);
    const after = packageView(await tx.billingPackage.findUniqueOrThrow({ where: { id: packageId } }));
    await recordAudit(
      tx,
      { actor, action: 'billing_package.updated', entityType: 'billing_package', entityId: packageId, before: packageView(current), after },
      idempotency,
    );
    return after;
  });
}

/**
 * Soft delete: the row stays because grants reference it; it disappears from lists and can no longer
 * be assigned. Deleting an already-deleted package is NOT_FOUND (a retry with the same key replays).
 */
export async function deletePackage(
  db: Database,
  packageId: string,
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<PackageView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const current = await tx.billingPackage.findUnique({ where: { id: packageId } });
    const { count } = await tx.billingPackage.updateMany({
      where: { id: packageId, deletedAt: null },
      data: { deletedAt: new Date(), visible: false },
    });
    if (count === 0 || !current) throw packageNotFound(packageId);
    const after = packageView(await tx.billingPackage.findUniqueOrThrow({ where: { id: packageId } }));
    await recordAudit(
      tx,
      { actor, action: 'billing_package.deleted', entityType: 'billing_package', entityId: packageId, before: packageView(current), after },
      idempotency,
    );
    return after;
  });
}

function packageNotFound(packageId: string): BillingError {
  return new BillingError('NOT_FOUND', `Package ${packageId} not found.`, { packageId });
}
