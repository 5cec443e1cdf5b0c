import { randomUUID } from 'node:crypto';
import type { Allocation } from '../domain/burn-down';
import type { Prisma } from '../generated/prisma/client';
import type { Tx } from './transaction';
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
  const id = randomUUID();
  const createdAt = new Date();
  await tx.consumptionRecord.createMany({
    data: [
      {
        id,
        userId: consumption.userId,
        actionKey: consumption.actionKey,
        quantity: consumption.quantity,
        unitPrice: consumption.unitPrice,
        creditsCost: consumption.creditsCost,
        metadata: consumption.metadata as Prisma.InputJsonValue | undefined,
        createdAt,
      },
    ],
  });
  if (consumption.allocations.length > 0) {
    await tx.consumptionAllocation.createMany({
      data: consumption.allocations.map((a) => ({ consumptionId: id, userPackageId: a.grantId, credits: a.credits })),
    });
  }
  return {
    id,
    userId: consumption.userId,
    actionKey: consumption.actionKey,
    quantity: consumption.quantity,
    unitPrice: consumption.unitPrice,
    creditsCost: consumption.creditsCost,
    creditsRefunded: 0,
    reservationId: consumption.reservationId ?? null,
    metadata: consumption.metadata ?? null,
    allocations: consumption.allocations.map((a) => ({ grantId: a.grantId, credits: a.credits })),
    createdAt: createdAt.toISOString(),
  };
}
