/**
 * The catalog's answers as zod schemas, the types inferred from them (stored verbatim as idempotent
 * replies: JSON values only, changed only by adding fields).
 */
import type { ActionPrice, AuditEvent, BillingPackage } from '../../generated/prisma/client';
import { ActionPriceStatus, PackageStatus, PackageType } from '../../generated/prisma/enums';
import { z } from '../../platform/zod';
import { uuidSchema } from '../../platform/schemas';

export const actionPriceSchema = z
  .object({
    id: uuidSchema,
    actionKey: z.string(),
    name: z.string(),
    creditsPerUnit: z.number().int(),
    status: z.enum(ActionPriceStatus),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('ActionPrice');

/** What anyone may see of a price: no ids or audit timestamps. */
export const publicActionPriceSchema = actionPriceSchema
  .pick({ actionKey: true, name: true, creditsPerUnit: true })
  .openapi('PublicActionPrice');

export const billingPackageSchema = z
  .object({
    id: uuidSchema,
    code: z.string(),
    name: z.string(),
    type: z.enum(PackageType),
    creditsAmount: z.number().int(),
    durationDays: z.number().int().nullable().openapi({ description: 'Validity after assignment; null = never expires.' }),
    priceMinor: z.number().int().openapi({ description: 'Price in minor units of `currency` (e.g. cents).' }),
    currency: z.string().length(3),
    visible: z.boolean(),
    defaultPriority: z.number().int(),
    status: z.enum(PackageStatus),
    deletedAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('BillingPackage');

/** What a storefront shows: no internal flags (visibility, priority, status, deletion). */
export const storefrontPackageSchema = billingPackageSchema
  .pick({ id: true, code: true, name: true, type: true, creditsAmount: true, durationDays: true, priceMinor: true, currency: true })
  .openapi('StorefrontPackage');

export const auditEventSchema = z.object({
  id: z.string(),
  actor: z.string(),
  action: z.string(),
  entityType: z.string(),
  entityId: z.string(),
  changes: z.object({ before: z.unknown(), after: z.unknown() }),
  createdAt: z.string(),
});

export type ActionPriceView = z.infer<typeof actionPriceSchema>;
export type PublicActionPriceView = z.infer<typeof publicActionPriceSchema>;
export type PackageView = z.infer<typeof billingPackageSchema>;
export type StorefrontPackageView = z.infer<typeof storefrontPackageSchema>;
export type AuditEventView = z.infer<typeof auditEventSchema>;

export function actionPriceView(price: ActionPrice): ActionPriceView {
  return {
    id: price.id,
    actionKey: price.actionKey,
    name: price.name,
    creditsPerUnit: price.creditsPerUnit,
    status: price.status,
    createdAt: price.createdAt.toISOString(),
    updatedAt: price.updatedAt.toISOString(),
  };
}

export function storefrontPackageView(billingPackage: BillingPackage): StorefrontPackageView {
  return {
    id: billingPackage.id,
    code: billingPackage.code,
    name: billingPackage.name,
    type: billingPackage.type,
    creditsAmount: billingPackage.creditsAmount,
    durationDays: billingPackage.durationDays,
    priceMinor: billingPackage.priceMinor,
    currency: billingPackage.currency,
  };
}

export function packageView(billingPackage: BillingPackage): PackageView {
  return {
    ...storefrontPackageView(billingPackage),
    visible: billingPackage.visible,
    defaultPriority: billingPackage.defaultPriority,
    status: billingPackage.status,
    deletedAt: billingPackage.deletedAt?.toISOString() ?? null,
    createdAt: billingPackage.createdAt.toISOString(),
    updatedAt: billingPackage.updatedAt.toISOString(),
  };
}

export function auditEventView(event: AuditEvent): AuditEventView {
  return {
    id: event.id.toString(),
    actor: event.actor,
    action: event.action,
    entityType: event.entityType,
    entityId: event.entityId,
    changes: event.changes as AuditEventView['changes'],
    createdAt: event.createdAt.toISOString(),
  };
}
