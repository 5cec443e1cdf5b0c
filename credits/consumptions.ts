import { randomUUID } from 'node:crypto';
import type { Allocation } from '../domain/burn-down';
import type { Prisma } from '../generated/prisma/client';
import type { Tx } from '../infra/database';
import type { ConsumptionView } from './views';

export interface NewConsumption {
  userId: string;
  actionKey: string;
  quantity: number;
  unitPrice: number;
  creditsCost: number;
  metadata?: Record<string, unknown> | undefined;
  allocations: Allocation[];
  reservationId?: string | undefined;
}

/**
 * Writes a consumption and where its credits came from, and returns its view built from the values in
 * hand: two INSERTs and no read-back, on the hot path of every deduct and commit.
 */
export async function recordConsumption(tx: Tx, consumption: NewConsumption): Promise<ConsumptionView> {
  const { allocations, reservationId, metadata, ...fields } = consumption;
  const row = { id: randomUUID(), ...fields, createdAt: new Date() };
  await tx.consumptionRecord.createMany({ data: [{ ...row, metadata: metadata as Prisma.InputJsonValue | undefined }] });
  if (allocations.length > 0) {
    await tx.consumptionAllocation.createMany({
      data: allocations.map((a) => ({ consumptionId: row.id, userPackageId: a.grantId, credits: a.credits })),
    });
  }
  return {
    ...row,
    creditsRefunded: 0,
    reservationId: reservationId ?? null,
    metadata: metadata ?? null,
    allocations: allocations.map((a) => ({ grantId: a.grantId, credits: a.credits })),
    createdAt: row.createdAt.toISOString(),
  };
}
