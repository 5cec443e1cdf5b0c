/**
 * The outbox write: every business event goes into `events` in the SAME transaction as the change it
 * describes, so it exists if and only if the change committed. The relay (modules/events/relay.ts) hands it on.
 */
import { randomUUID } from 'node:crypto';
import type { Prisma } from '../../generated/prisma/client';
import type { Tx } from '../database';
import { parsePayload, type EventPayload, type EventType } from './event-types';

export interface NewEvent<T extends EventType> {
  type: T;
  /** The subject user; null for events about the catalog or an endpoint. */
  userId: string | null;
  payload: EventPayload<T>;
}

/** Validates the payload against its type's schema and appends the event; returns its stable id. */
export async function recordEvent<T extends EventType>(tx: Tx, event: NewEvent<T>): Promise<string> {
  const payload = parsePayload(event.type, event.payload);
  const id = randomUUID();
  await tx.event.createMany({
    data: [{ id, type: event.type, userId: event.userId, payload: payload as Prisma.InputJsonValue }],
  });
  return id;
}
