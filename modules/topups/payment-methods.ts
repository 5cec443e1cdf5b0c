/**
 * Saved payment methods: the provider's reference to a method the user saved (a gateway token, a Stripe
 * PaymentMethod), so a refill can charge off-session. Never card data: a card's brand and last four
 * digits only as the provider reports them. Writes are idempotent and audited.
 */
import { randomUUID } from 'node:crypto';
import { z } from '../../platform/zod';
import { BillingError } from '../../platform/errors';
import { isUniqueViolation, uniqueOrConflict, type Database, type Tx } from '../../platform/database';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';
import { recordAudit } from '../catalog';
import { createStripeCustomer, getChannel, openSetupSession, opensSetups, readStripeSetup, savedMethodCalls, savedTokenAccountOf, type PaymentsDeps, type StripeSetup } from '../payments';
import type { SavedPaymentMethod } from '../../generated/prisma/client';

export const savedPaymentMethodSchema = z
  .object({
    id: z.uuid(),
    userId: z.string(),
    channel: z.string().openapi({ description: 'The payment channel the method belongs to (a `gateway` or a `stripe` channel).' }),
    label: z.string().nullable().openapi({ description: 'What the user calls it, e.g. "Visa ending 4242" as the gateway showed it; for Stripe, the brand and last4.' }),
    brand: z.string().nullable().openapi({ description: "The card's brand as the provider reports it (Stripe's `card.brand`, e.g. `visa`); null when it reports none." }),
    last4: z.string().nullable().openapi({ description: "The card's last four digits as the provider reports them; null when it reports none." }),
    createdAt: z.string(),
  })
  .openapi('SavedPaymentMethod');
export type SavedPaymentMethodView = z.infer<typeof savedPaymentMethodSchema>;

function methodView(method: SavedPaymentMethod): SavedPaymentMethodView {
  return {
    id: method.id,
    userId: method.userId,
    channel: method.channelCode,
    label: method.label,
    brand: method.brand,
    last4: method.last4,
    createdAt: method.createdAt.toISOString(),
  };
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

/**
 * Asks the provider to forget the method (the gateway forgets the token, Stripe detaches the
 * PaymentMethod), then marks it removed; a retry with the same key replays. Refused with
 * PAYMENT_METHOD_IN_USE while an active top-up rule charges it: pause or change the rule first.
 */
export async function removePaymentMethod(
  db: Database,
  payments: PaymentsDeps,
  userId: string,
  methodId: string,
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<SavedPaymentMethodView>> {
  const method = await db.savedPaymentMethod.findFirst({ where: { id: methodId, userId } });
  if (!method) throw new BillingError('NOT_FOUND', 'Payment method not found.', { methodId });
  return runIdempotent(db, idempotency, async (tx) => {
    // The update locks the method's row first, so a rule being written to charge it waits for this one (and the reverse).
    const { count } = await tx.savedPaymentMethod.updateMany({ where: { id: methodId, userId, removedAt: null }, data: { removedAt: new Date() } });
    if (count === 0) throw new BillingError('NOT_FOUND', 'Payment method not found.', { methodId });
    const rule = await tx.topUpRule.findFirst({ where: { paymentMethodId: methodId, status: 'active' } });
    if (rule) {
      throw new BillingError('PAYMENT_METHOD_IN_USE', 'An active top-up rule charges this payment method: pause the rule or delete it first.', { methodId, ruleId: rule.id });
    }
    // Forgotten at the provider inside the transaction: if the provider cannot be reached the method stays saved.
    const channel = await getChannel(tx, method.channelCode);
    await savedMethodCalls(channel).forget(payments, channel, method.externalRef);
    const before = methodView(method);
    await recordAudit(tx, { actor, action: 'payment_method.removed', entityType: 'payment_method', entityId: methodId, before, after: null }, idempotency);
    return before;
  });
}

/**
 * The user's Stripe Customer: the kept one, or one created now and kept. The Stripe call's key is derived
 * from the user, so two first saves at once are one Customer at Stripe and one row here.
 */
export async function stripeCustomerOf(db: Database, payments: PaymentsDeps, userId: string): Promise<string> {
  const kept = await db.stripeCustomer.findUnique({ where: { userId } });
  if (kept) return kept.customerRef;
  const customerRef = await createStripeCustomer(payments, userId);
  await db.stripeCustomer.createMany({ data: [{ userId, customerRef }], skipDuplicates: true });
  return (await db.stripeCustomer.findUniqueOrThrow({ where: { userId } })).customerRef;
}

export const stripeSetupSchema = z
  .object({
    channel: z.string(),
    sessionId: z.string().openapi({ description: "Stripe's Checkout Session (mode `setup`)." }),
    url: z.string().nullable().openapi({ description: "Stripe's page where the user saves a card; the method is listed once Stripe reports the setup done." }),
  })
  .openapi('StripeSetup');
export type StripeSetupView = z.infer<typeof stripeSetupSchema>;

/**
 * Opens a Checkout Session in `setup` mode on the user's Customer. Nothing is saved here: the method
 * appears when Stripe's signed event says the setup succeeded (`saveStripeSetup`).
 */
export async function startStripeSetup(
  db: Database,
  payments: PaymentsDeps,
  userId: string,
  input: { channel: string },
  idempotency: Idempotency,
): Promise<IdempotentResult<StripeSetupView>> {
  const channel = await getChannel(db, input.channel);
  if (!channel.enabled || !opensSetups(channel)) throw new BillingError('CHANNEL_UNAVAILABLE', `Payment channel "${channel.code}" is not an enabled Stripe channel.`, { channel: channel.code });
  const customerRef = await stripeCustomerOf(db, payments, userId);
  return runIdempotent(db, idempotency, async () => {
    const session = await openSetupSession(payments, channel, { userId, customerRef, idempotencyKey: `${userId}-${idempotency.key}` });
    return { channel: channel.code, ...session };
  });
}

function stripeLabel(brand: string | null, last4: string | null): string | null {
  return brand && last4 ? `${brand} ending ${last4}` : null;
}

/**
 * Keeps the method a completed Stripe setup saved, once: Stripe reports one setup twice
 * (checkout.session.completed and setup_intent.succeeded) and may redeliver either, so a method
 * already kept is answered as it is. A setup on a Customer that is not ours, or naming no channel of
 * ours, is ignored (undefined).
 */
export async function saveStripeSetup(db: Database, payments: PaymentsDeps, setup: StripeSetup, eventId: string): Promise<SavedPaymentMethodView | undefined> {
  if (!setup.customerRef || !setup.channel) return undefined;
  const customer = await db.stripeCustomer.findUnique({ where: { customerRef: setup.customerRef } });
  const channel = await db.paymentChannel.findUnique({ where: { code: setup.channel } });
  if (!customer || !channel || !opensSetups(channel)) return undefined;
  const method = await readStripeSetup(payments, setup);
  if (!method) return undefined;
  const where = { channelCode_externalRef: { channelCode: channel.code, externalRef: method.paymentMethodRef } };
  const kept = await db.savedPaymentMethod.findUnique({ where });
  if (kept) return methodView(kept);
  try {
    return await db.$transaction(async (tx) => {
      const saved = await tx.savedPaymentMethod.create({
        data: {
          id: randomUUID(),
          userId: customer.userId,
          channelCode: channel.code,
          externalRef: method.paymentMethodRef,
          label: stripeLabel(method.brand, method.last4),
          brand: method.brand,
          last4: method.last4,
        },
      });
      const after = methodView(saved);
      const idempotency = { scope: 'stripe', key: eventId, requestHash: eventId };
      await recordAudit(tx, { actor: 'stripe', action: 'payment_method.saved', entityType: 'payment_method', entityId: saved.id, before: null, after }, idempotency);
      return after;
    });
  } catch (error) {
    // The other report of the same setup kept it at the same moment.
    if (!isUniqueViolation(error)) throw error;
    return methodView(await db.savedPaymentMethod.findUniqueOrThrow({ where }));
  }
}

/**
 * The saved method a refill charges: the one it names (a manual top-up's choice), else the user's rule's
 * choice, else the newest not removed (on the channel, when given). PAYMENT_METHOD_REQUIRED when there is
 * none: a refill ends on it (failed, slot released, rule paused), a manual top-up is refused with it.
 */
export async function refillMethodOf(db: Database | Tx, userId: string, options: { channelCode?: string; methodId?: string | null | undefined } = {}): Promise<SavedPaymentMethod> {
  const chosen = options.methodId ?? (await db.topUpRule.findUnique({ where: { userId } }))?.paymentMethodId ?? null;
  const method = await db.savedPaymentMethod.findFirst({
    where: { userId, removedAt: null, ...(chosen ? { id: chosen } : {}), ...(options.channelCode ? { channelCode: options.channelCode } : {}) },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
  });
  if (!method) throw new BillingError('PAYMENT_METHOD_REQUIRED', 'The user has no saved payment method to charge.', { userId, ...(chosen ? { paymentMethodId: chosen } : {}) });
  return method;
}
