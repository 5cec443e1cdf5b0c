/**
 * Payment channels: admin CRUD, the public list (no secrets), and each kind's settings validated by
 * its provider's zod schema (providers/<kind>.ts).
 */
import { BillingError } from '../../platform/errors';
import { uniqueOrConflict, type Database, type Tx } from '../../platform/database';
import { keysetOrder, type Page, type PageRequest } from '../../platform/pagination';
import type { Prisma, PaymentChannel } from '../../generated/prisma/client';
import { recordAudit } from '../catalog';
import { paymentProvider, type ChannelKind } from './providers/registry';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';

/** What an admin view of a channel hides: each provider names its secret settings. */
function isSecret(kind: ChannelKind, key: string): boolean {
  return paymentProvider(kind).secretFields.includes(key);
}

export interface PublicChannelView {
  code: string;
  kind: ChannelKind;
  name: string;
  displayOrder: number;
  currencies: string[];
}

export interface ChannelView extends PublicChannelView {
  id: string;
  enabled: boolean;
  /** Settings with secrets replaced by "***". */
  config: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

function publicChannelView(channel: PaymentChannel): PublicChannelView {
  return {
    code: channel.code,
    kind: channel.kind,
    name: channel.name,
    displayOrder: channel.displayOrder,
    currencies: channel.currencies as string[],
  };
}

export function channelView(channel: PaymentChannel): ChannelView {
  const config = Object.fromEntries(
    Object.entries(channel.config as Record<string, unknown>).map(([key, value]) => [key, isSecret(channel.kind, key) ? '***' : value]),
  );
  return {
    id: channel.id,
    ...publicChannelView(channel),
    enabled: channel.enabled,
    config,
    createdAt: channel.createdAt.toISOString(),
    updatedAt: channel.updatedAt.toISOString(),
  };
}

const IN_DISPLAY_ORDER = keysetOrder({ field: 'displayOrder', direction: 'asc', kind: 'int' }, { field: 'code', direction: 'asc', kind: 'text' });

export async function listPublicChannels(db: Database, page: PageRequest): Promise<Page<PublicChannelView>> {
  const channels = await db.paymentChannel.findMany({
    where: { AND: [{ enabled: true }, IN_DISPLAY_ORDER.after(page.cursor)] },
    orderBy: IN_DISPLAY_ORDER.orderBy,
    take: IN_DISPLAY_ORDER.take(page),
  });
  return IN_DISPLAY_ORDER.page(channels, page, publicChannelView);
}

export async function listChannels(db: Database, page: PageRequest): Promise<Page<ChannelView>> {
  const channels = await db.paymentChannel.findMany({ where: IN_DISPLAY_ORDER.after(page.cursor), orderBy: IN_DISPLAY_ORDER.orderBy, take: IN_DISPLAY_ORDER.take(page) });
  return IN_DISPLAY_ORDER.page(channels, page, channelView);
}

export async function getChannel(db: Database | Tx, code: string): Promise<PaymentChannel> {
  const channel = await db.paymentChannel.findUnique({ where: { code } });
  if (!channel) throw new BillingError('NOT_FOUND', `Payment channel "${code}" not found.`, { channel: code });
  return channel;
}

export interface ChannelInput {
  code: string;
  kind: ChannelKind;
  name: string;
  enabled?: boolean | undefined;
  displayOrder?: number | undefined;
  currencies: string[];
  config: Record<string, unknown>;
}

function validConfig(kind: ChannelKind, config: unknown): Prisma.InputJsonValue {
  const parsed = paymentProvider(kind).configSchema.safeParse(config);
  if (!parsed.success) {
    throw new BillingError('VALIDATION_FAILED', `Invalid config for a ${kind} channel.`, {
      issues: parsed.error.issues.map((issue) => ({ path: ['body', 'config', ...issue.path].join('.'), message: issue.message })),
    });
  }
  return parsed.data as Prisma.InputJsonValue;
}

export async function createChannel(db: Database, input: ChannelInput, idempotency: Idempotency, actor: string): Promise<IdempotentResult<ChannelView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const config = validConfig(input.kind, input.config);
    const channel = await uniqueOrConflict(
      () =>
        tx.paymentChannel.create({
          data: {
            code: input.code,
            kind: input.kind,
            name: input.name,
            enabled: input.enabled ?? true,
            displayOrder: input.displayOrder ?? 0,
            currencies: input.currencies,
            config,
          },
        }),
      `Payment channel "${input.code}" already exists.`,
      { channel: input.code },
    );
    const view = channelView(channel);
    await recordAudit(tx, { actor, action: 'payment_channel.created', entityType: 'payment_channel', entityId: channel.id, before: null, after: view }, idempotency);
    return view;
  });
}

export type ChannelChanges = Partial<Omit<ChannelInput, 'code' | 'kind'>>;

export async function updateChannel(
  db: Database,
  code: string,
  changes: ChannelChanges,
  idempotency: Idempotency,
  actor: string,
): Promise<IdempotentResult<ChannelView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const before = await getChannel(tx, code);
    const channel = await tx.paymentChannel.update({
      where: { id: before.id },
      data: {
        ...(changes.name === undefined ? {} : { name: changes.name }),
        ...(changes.enabled === undefined ? {} : { enabled: changes.enabled }),
        ...(changes.displayOrder === undefined ? {} : { displayOrder: changes.displayOrder }),
        ...(changes.currencies === undefined ? {} : { currencies: changes.currencies }),
        ...(changes.config === undefined ? {} : { config: validConfig(before.kind, changes.config) }),
      },
    });
    const view = channelView(channel);
    await recordAudit(
      tx,
      { actor, action: 'payment_channel.updated', entityType: 'payment_channel', entityId: channel.id, before: channelView(before), after: view },
      idempotency,
    );
    return view;
  });
}
