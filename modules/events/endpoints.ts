/**
 * Webhook endpoints (admin CRUD). Secrets are generated here, encrypted at rest (modules/events/secrets.ts) and
 * returned in clear only by create and rotate. The idempotent stored answer keeps only the ciphertext,
 * so a same-key retry shows the same secret without any plaintext secret in the database.
 */
import { randomUUID } from 'node:crypto';
import { BillingError } from '../../platform/errors';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';
import type { Database, Tx } from '../../platform/database';
import { OLDEST_FIRST, type Page, type PageRequest } from '../../platform/pagination';
import { eventsConfig } from './config';
import { decryptSecret, encryptSecret, generateSecret } from './secrets';
import type { EventType } from '../../platform/outbox/event-types';
import { webhookEndpointView, type WebhookEndpointView } from './views';

export interface EndpointInput {
  url: string;
  eventTypes: EventType[];
  description?: string | undefined;
  enabled?: boolean | undefined;
}

interface StoredWithSecret {
  endpoint: WebhookEndpointView;
  secretCiphertext: string;
}

function reveal(result: IdempotentResult<StoredWithSecret>): IdempotentResult<WebhookEndpointView & { secret: string }> {
  const { endpoint, secretCiphertext } = result.body;
  return { replayed: result.replayed, body: { ...endpoint, secret: decryptSecret(secretCiphertext, eventsConfig().WEBHOOK_SECRETS_KEY) } };
}

export async function createEndpoint(db: Database, input: EndpointInput, idempotency: Idempotency) {
  const result = await runIdempotent<StoredWithSecret>(db, idempotency, async (tx) => {
    const secretCiphertext = encryptSecret(generateSecret(), eventsConfig().WEBHOOK_SECRETS_KEY);
    const endpoint = await tx.webhookEndpoint.create({
      data: {
        id: randomUUID(),
        url: input.url,
        eventTypes: input.eventTypes,
        description: input.description ?? '',
        enabled: input.enabled ?? true,
        secretCiphertext,
      },
    });
    return { endpoint: webhookEndpointView(endpoint), secretCiphertext };
  });
  return reveal(result);
}

async function findLive(tx: Tx | Database, endpointId: string) {
  const endpoint = await tx.webhookEndpoint.findUnique({ where: { id: endpointId } });
  if (!endpoint || endpoint.deletedAt) throw new BillingError('NOT_FOUND', `Webhook endpoint ${endpointId} not found.`, { endpointId });
  return endpoint;
}

/** Oldest first. */
export async function listEndpoints(db: Database, page: PageRequest): Promise<Page<WebhookEndpointView>> {
  const endpoints = await db.webhookEndpoint.findMany({
    where: { AND: [{ deletedAt: null }, OLDEST_FIRST.after(page.cursor)] },
    orderBy: OLDEST_FIRST.orderBy,
    take: OLDEST_FIRST.take(page),
  });
  return OLDEST_FIRST.page(endpoints, page, webhookEndpointView);
}

export async function getEndpoint(db: Database, endpointId: string): Promise<WebhookEndpointView> {
  return webhookEndpointView(await findLive(db, endpointId));
}

export async function updateEndpoint(
  db: Database,
  endpointId: string,
  changes: Partial<EndpointInput>,
  idempotency: Idempotency,
): Promise<IdempotentResult<WebhookEndpointView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    await findLive(tx, endpointId);
    // Enabling again clears the failure record, so the failing-for-too-long rule starts afresh.
    const reenable = changes.enabled === true ? { disabledReason: null, failingSince: null } : {};
    const endpoint = await tx.webhookEndpoint.update({ where: { id: endpointId }, data: { ...changes, ...reenable } });
    return webhookEndpointView(endpoint);
  });
}

/** Soft delete: no further deliveries; past deliveries stay readable. */
export async function deleteEndpoint(db: Database, endpointId: string, idempotency: Idempotency): Promise<IdempotentResult<WebhookEndpointView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    await findLive(tx, endpointId);
    const endpoint = await tx.webhookEndpoint.update({ where: { id: endpointId }, data: { deletedAt: new Date(), enabled: false } });
    return webhookEndpointView(endpoint);
  });
}

/**
 * A new secret signs from now on; the old one keeps signing too until the overlap ends, so receivers can
 * switch at their pace (Standard Webhooks sends one signature per secret: `v1,<a> v1,<b>`).
 */
export async function rotateSecret(db: Database, endpointId: string, overlapHours: number | undefined, idempotency: Idempotency) {
  const result = await runIdempotent<StoredWithSecret>(db, idempotency, async (tx) => {
    const current = await findLive(tx, endpointId);
    const hours = overlapHours ?? eventsConfig().WEBHOOK_ROTATION_OVERLAP_HOURS;
    const secretCiphertext = encryptSecret(generateSecret(), eventsConfig().WEBHOOK_SECRETS_KEY);
    const endpoint = await tx.webhookEndpoint.update({
      where: { id: endpointId },
      data: {
        secretCiphertext,
        previousSecretCiphertext: hours > 0 ? current.secretCiphertext : null,
        previousSecretExpiresAt: hours > 0 ? new Date(Date.now() + hours * 3_600_000) : null,
      },
    });
    return { endpoint: webhookEndpointView(endpoint), secretCiphertext };
  });
  return reveal(result);
}

/** The secrets that sign now: the current one, and the previous one during a rotation overlap. */
export function signingSecrets(
  endpoint: { secretCiphertext: string; previousSecretCiphertext: string | null; previousSecretExpiresAt: Date | null },
  now: Date,
  secretsKey: string,
): string[] {
  const secrets = [decryptSecret(endpoint.secretCiphertext, secretsKey)];
  if (endpoint.previousSecretCiphertext && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now) {
    secrets.push(decryptSecret(endpoint.previousSecretCiphertext, secretsKey));
  }
  return secrets;
}
