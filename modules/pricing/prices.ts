/**
 * A package's prices by currency. The package's own `priceMinor`/`currency` is its default price;
 * `package_prices` rows add more currencies. The order takes the price in the currency the buyer
 * chose, as stored: amounts are never converted between currencies.
 */
import { z } from '../../platform/zod';
import { BillingError } from '../../platform/errors';
import { isKnownCurrency } from '../../platform/currencies';
import type { BillingPackage } from '../../generated/prisma/client';
import type { Database, Tx } from '../../platform/database';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';
import { uuidSchema } from '../../platform/schemas';
import { recordAudit } from '../catalog';

const packagePriceSchema = z.object({ currency: z.string(), amountMinor: z.number().int(), default: z.boolean() }).openapi('PackagePrice');
export const packagePricesSchema = z.object({ packageId: uuidSchema, packageCode: z.string(), items: z.array(packagePriceSchema) }).openapi('PackagePrices');
export type PackagePricesView = z.infer<typeof packagePricesSchema>;

async function pricesOf(db: Database | Tx, pkg: BillingPackage): Promise<PackagePricesView> {
  const extra = await db.packagePrice.findMany({ where: { packageId: pkg.id }, orderBy: { currency: 'asc' } });
  return {
    packageId: pkg.id,
    packageCode: pkg.code,
    items: [
      { currency: pkg.currency, amountMinor: pkg.priceMinor, default: true },
      ...extra.filter((p) => p.currency !== pkg.currency).map((p) => ({ currency: p.currency, amountMinor: p.amountMinor, default: false })),
    ],
  };
}

/** The price in `currency` (default: the package's own), or CURRENCY_NOT_SUPPORTED. */
export async function resolvePrice(db: Database | Tx, pkg: BillingPackage, currency?: string): Promise<{ currency: string; amountMinor: number }> {
  const wanted = currency ?? pkg.currency;
  const price = (await pricesOf(db, pkg)).items.find((item) => item.currency === wanted);
  if (!price) {
    throw new BillingError('CURRENCY_NOT_SUPPORTED', `Package "${pkg.code}" has no price in ${wanted}.`, { currency: wanted, supportedBy: 'package' });
  }
  return { currency: price.currency, amountMinor: price.amountMinor };
}

async function livePackage(db: Database | Tx, where: { id: string } | { code: string }): Promise<BillingPackage> {
  const pkg = await db.billingPackage.findUnique({ where });
  if (!pkg || pkg.deletedAt) throw new BillingError('NOT_FOUND', 'Package not found.', where);
  return pkg;
}

export async function listPackagePrices(db: Database, packageCode: string): Promise<PackagePricesView> {
  const pkg = await livePackage(db, { code: packageCode });
  if (pkg.status !== 'active' || !pkg.visible) throw new BillingError('NOT_FOUND', 'Package not found.', { code: packageCode });
  return pricesOf(db, pkg);
}

/** Replaces the package's extra prices (the default price is edited on the package itself). Audited. */
export async function setPackagePrices(
  db: Database,
  packageId: string,
  prices: Array<{ currency: string; amountMinor: number }>,
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<PackagePricesView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    // Replaces of one package's prices take turns on the package's row: two at once would each delete
    // nothing of the other's uncommitted rows, then collide inserting the same currency (a 500).
    await tx.$executeRaw`SELECT 1 FROM billing_packages WHERE id = ${packageId}::uuid FOR UPDATE`;
    const pkg = await livePackage(tx, { id: packageId });
    for (const price of prices) {
      if (!isKnownCurrency(price.currency)) {
        throw new BillingError('CURRENCY_NOT_SUPPORTED', `${price.currency} is not in the currency table (platform/currencies.ts).`, { currency: price.currency });
      }
    }
    const before = await pricesOf(tx, pkg);
    await tx.packagePrice.deleteMany({ where: { packageId } });
    const extra = prices.filter((price) => price.currency !== pkg.currency);
    if (extra.length > 0) await tx.packagePrice.createMany({ data: extra.map((price) => ({ packageId, ...price })) });
    const after = await pricesOf(tx, pkg);
    await recordAudit(tx, { actor, action: 'package_prices.replaced', entityType: 'billing_package', entityId: packageId, before, after }, idempotency);
    return after;
  });
}
