/**
 * Saved payment methods: the provider's reference to a method the user saved (today a gateway token),
 * so a refill can charge off-session. Never card data. Writes are idempotent and audited.
 */
import { randomUUID } from 'node:crypto';
import { z } from '../../platform/zod';
import { BillingError } from '../../platform/errors';
import { uniqueOrConflict, type Database } from '../../platform/database';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';
import { recordAudit } from '../catalog';
import { getChannel, savedTokenAccountOf } from '../payments';
import type { SavedPaymentMethod } from '../../generated/prisma/client';
import { forgetSavedToken } from './gateway-charges';

export const savedPaymentMethodSchema = z
  .object({
    id: z.uuid(),
    userId: z.string(),
    channel: z.string().openapi({ description: 'The payment channel the method belongs to.' }),
    label: z.string().nullable().openapi({ description: 'What the user calls it, e.g. "Visa ending 4242" as the gateway showed it.' }),
    createdAt: z.string(),
  })
  .openapi('SavedPaymentMethod');
export type SavedPaymentMethodView = z.infer<typeof savedPaymentMethodSchema>;

function methodView(method: SavedPaymentMethod): SavedPaymentMethodView {
  return { id: method.id, userId: method.userId, channel: method.channelCode, label: method.label, createdAt: method.createdAt.toISOString() };
}

/** The account of the channel a token belongs to: enabled, and of a provider that saves tokens. */
async function tokenAccount(db: Database, code: string) {
  const channel = await getChannel(db, code);
  const account = channel.enabled ? savedTokenAccountOf(channel) : undefined;
  if (!account) throw new BillingError('CHANNEL_UNAVAILABLE', `Payment channel "${code}" does not save tokens.`, { channel: code });
  return account;
}

export async function saveGatewayToken(
  db: Database,
  userId: string,
  input: { channel: string; token: string; label?: string | undefined },
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<SavedPaymentMethodView>> {
  await tokenAccount(db, input.channel);
  return runIdempotent(db, idempotency, async (tx) => {
    const saved = await uniqueOrConflict(
      () => tx.savedPaymentMethod.create({ data: { id: randomUUID(), userId, channelCode: input.channel, externalRef: input.token, label: input.label ?? null } }),
      'This token is already saved.',
      { channel: input.channel },
    );
    const after = methodView(saved);
    await recordAudit(tx, { actor, action: 'payment_method.saved', entityType: 'payment_method', entityId: saved.id, before: null, after }, idempotency);
    return after;
  });
}

export async function listPaymentMethods(db: Database, userId: string): Promise<{ items: SavedPaymentMethodView[] }> {
  const methods = await db.savedPaymentMethod.findMany({ where: { userId, removedAt: null }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  return { items: methods.map(methodView) };
}

/** Asks the gateway to forget the token, then marks the method removed (a retry with the same key replays). */
export async function removePaymentMethod(db: Database, userId: string, methodId: string, idempotency: Idempotency, actor: string): Promise<IdempotentResult<SavedPaymentMethodView>> {
  const method = await db.savedPaymentMethod.findFirst({ where: { id: methodId, userId } });
  if (!method) throw new BillingError('NOT_FOUND', 'Payment method not found.', { methodId });
  return runIdempotent(db, idempotency, async (tx) => {
    const { count } = await tx.savedPaymentMethod.updateMany({ where: { id: methodId, userId, removedAt: null }, data: { removedAt: new Date() } });
    if (count === 0) throw new BillingError('NOT_FOUND', 'Payment method not found.', { methodId });
    // Forgotten at the gateway inside the transaction: if the gateway cannot be reached the method stays saved.
    const account = savedTokenAccountOf(await getChannel(tx, method.channelCode));
    if (account) await forgetSavedToken(account, method.externalRef);
    const before = methodView(method);
    await recordAudit(tx, { actor, action: 'payment_method.removed', entityType: 'payment_method', entityId: methodId, before, after: null }, idempotency);
    return before;
  });
}
