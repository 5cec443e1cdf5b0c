/**
 * One webhook attempt, as the delivery workflow's activity runs it: sign (Standard Webhooks), POST with a
 * time limit, record the attempt, and settle what follows (delivered; retry; 410 or failing too long
 * disables the endpoint; schedule exhausted = dead letter). Idempotent per (delivery, run, attempt).
 */
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { classifyResponse, nextRetryDelayMs, parseRetryAfter } from './rules/webhook-retries';
import type { Database, Tx } from '../../platform/database';
import type { AttemptRequest, AttemptResult } from '../../workflows/delivery-contract';
import type { EventsConfig } from './config';
import { signingSecrets } from './endpoints';
import { recordEvent } from '../../platform/outbox/record';

const EXCERPT_CHARS = 500;

/** The body every receiver gets: the event itself; `data` follows the type's schema (docs/events.md). */
export function webhookBody(event: { id: string; type: string; userId: string | null; payload: unknown; occurredAt: Date }): string {
  return JSON.stringify({ id: event.id, type: event.type, timestamp: event.occurredAt.toISOString(), userId: event.userId, data: event.payload });
}

/** Standard Webhooks headers; one `v1,<sig>` per secret, space-separated, during a rotation overlap. */
export function signatureHeaders(messageId: string, body: string, secrets: string[], at: Date): Record<string, string> {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(messageId, at, body)).join(' '),
  };
}

interface HttpOutcome {
  statusCode: number | null;
  error: string | null;
  excerpt: string | null;
  retryAfterMs: number | null;
  latencyMs: number;
}

async function post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<HttpOutcome> {
  const started = performance.now();
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'durable-billing-webhooks/1', ...headers },
      body,
      redirect: 'manual', // a redirect is a failure: the endpoint's URL is what was registered
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text().catch(() => '');
    return {
      statusCode: response.status,
      error: null,
      excerpt: text.slice(0, EXCERPT_CHARS),
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), Date.now()),
      latencyMs: Math.round(performance.now() - started),
    };
  } catch (error) {
    const message = error instanceof Error ? (error.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : `${error.message}${error.cause instanceof Error ? `: ${error.cause.message}` : ''}`) : String(error);
    return { statusCode: null, error: message.slice(0, EXCERPT_CHARS), excerpt: null, retryAfterMs: null, latencyMs: Math.round(performance.now() - started) };
  }
}

/** Disables an endpoint (once) and records the event saying so, in the caller's transaction. */
async function disableEndpoint(tx: Tx, endpointId: string, reason: 'gone' | 'failing', failingSince: Date | null): Promise<void> {
  const changed = await tx.webhookEndpoint.updateMany({
    where: { id: endpointId, enabled: true },
    data: { enabled: false, disabledReason: reason === 'gone' ? 'The endpoint answered 410 Gone.' : 'The endpoint kept failing.' },
  });
  if (changed.count === 1) {
    await recordEvent(tx, { type: 'webhook_endpoint.disabled', userId: null, payload: { endpointId, reason, failingSince: failingSince?.toISOString() ?? null } });
  }
}

/**
 * The delivery row with its event and endpoint. The relay creates the row; creating it here too keeps a
 * hand-started or replayed run self-sufficient (the event's time, its partition key, read first).
 */
async function findOrCreateDelivery(db: Database, eventId: string, endpointId: string) {
  const include = { event: true, endpoint: true } as const;
  const existing = await db.webhookDelivery.findFirst({ where: { eventId, endpointId }, include });
  if (existing) return existing;
  const { occurredAt } = await db.event.findFirstOrThrow({ where: { id: eventId }, select: { occurredAt: true } });
  const key = { eventId, endpointId, eventOccurredAt: occurredAt };
  return db.webhookDelivery.upsert({ where: { eventId_endpointId_eventOccurredAt: key }, create: { id: randomUUID(), ...key }, update: {}, include });
}

export async function attemptDelivery(db: Database, config: EventsConfig, request: AttemptRequest & { runId: string }): Promise<AttemptResult> {
  const delivery = await findOrCreateDelivery(db, request.eventId, request.endpointId);
  const { event, endpoint } = delivery;
  const stop = (lastError: string) => ({ status: 'failed', lastError, nextAttemptAt: null });
  // The row's full key (deliveries are partitioned by their event's time): every write finds it in its month.
  const thisDelivery = { id_eventOccurredAt: { id: delivery.id, eventOccurredAt: delivery.eventOccurredAt } };

  if (!endpoint.enabled || endpoint.deletedAt) {
    await db.webhookDelivery.update({ where: thisDelivery, data: stop('endpoint disabled') });
    return { outcome: 'stop', statusCode: null, retryAfterMs: null };
  }

  const body = webhookBody(event);
  const now = new Date();
  const headers = signatureHeaders(event.id, body, signingSecrets(endpoint, now, config.WEBHOOK_SECRETS_KEY), now);
  const http = await post(endpoint.url, headers, body, config.WEBHOOK_TIMEOUT_MS);
  const verdict = classifyResponse(http.statusCode);
  const lastError = verdict === 'delivered' ? null : (http.error ?? `HTTP ${http.statusCode}`);

  return db.$transaction(async (tx) => {
    await tx.webhookDeliveryAttempt.createMany({
      data: [
        {
          deliveryId: delivery.id,
          eventOccurredAt: delivery.eventOccurredAt,
          runId: request.runId,
          attempt: request.attempt,
          scheduledAt: new Date(request.scheduledAtMs),
          statusCode: http.statusCode,
          error: http.error,
          latencyMs: http.latencyMs,
          responseExcerpt: http.excerpt,
        },
      ],
      skipDuplicates: true,
    });
    const attemptCount = await tx.webhookDeliveryAttempt.count({ where: { deliveryId: delivery.id, eventOccurredAt: delivery.eventOccurredAt } });
    const result = (outcome: AttemptResult['outcome']): AttemptResult => ({ outcome, statusCode: http.statusCode, retryAfterMs: http.retryAfterMs });

    if (verdict === 'delivered') {
      await tx.webhookDelivery.update({ where: thisDelivery, data: { status: 'delivered', attemptCount, lastError: null, nextAttemptAt: null, deliveredAt: new Date() } });
      await tx.webhookEndpoint.updateMany({ where: { id: endpoint.id, failingSince: { not: null } }, data: { failingSince: null } });
      return result('delivered');
    }
    if (verdict === 'gone') {
      await tx.webhookDelivery.update({ where: thisDelivery, data: { attemptCount, ...stop('410 Gone: endpoint disabled') } });
      await disableEndpoint(tx, endpoint.id, 'gone', endpoint.failingSince);
      return result('stop');
    }
    const failingSince = endpoint.failingSince ?? now;
    if (!endpoint.failingSince) await tx.webhookEndpoint.update({ where: { id: endpoint.id }, data: { failingSince } });
    if (now.getTime() - failingSince.getTime() >= config.WEBHOOK_DISABLE_AFTER_HOURS * 3_600_000) {
      await tx.webhookDelivery.update({ where: thisDelivery, data: { attemptCount, ...stop(`${lastError}; endpoint disabled after failing since ${failingSince.toISOString()}`) } });
      await disableEndpoint(tx, endpoint.id, 'failing', failingSince);
      return result('stop');
    }
    const nextDelay = nextRetryDelayMs(request.retryScheduleMs, request.attempt + 1, http.retryAfterMs);
    if (nextDelay === null) {
      await tx.webhookDelivery.update({ where: thisDelivery, data: { attemptCount, ...stop(`${lastError}; retries exhausted`) } });
      return result('stop');
    }
    await tx.webhookDelivery.update({
      where: thisDelivery,
      data: { status: 'pending', attemptCount, lastError, nextAttemptAt: new Date(now.getTime() + nextDelay) },
    });
    return result('retry');
  });
}
