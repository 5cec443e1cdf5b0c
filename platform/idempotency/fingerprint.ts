import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { v5 as uuidv5 } from 'uuid';
import type { Idempotency } from './key-reuse';

/**
 * A request's fingerprint: SHA-256 of the operation (method and route) and its parameters in RFC 8785
 * canonical JSON, so the same parameters hash the same whatever their key order.
 */
export function requestFingerprint(operation: string, parameters: unknown): string {
  return createHash('sha256')
    .update(`${operation}\n${canonicalize(parameters) ?? 'null'}`)
    .digest('hex');
}

/**
 * A stable UUID for (credential, key) in a feature's namespace: the id of the thing a first request
 * creates (a reservation, an order), so a retry finds the same row and the same workflow run.
 */
export function idFromKey(idempotency: Pick<Idempotency, 'scope' | 'key'>, namespace: string): string {
  return uuidv5(`${idempotency.scope}\n${idempotency.key}`, namespace);
}

/**
 * A Temporal Update id: unique per (credential scope, key, request fingerprint, operation, target), so
 * the server deduplicates a retried update (same key, same request) and nothing else: a request under
 * another key is another update even with the same body, and a changed request under the same key is
 * another update too, refused as a reused key (platform/idempotency/key-reuse.ts). The parts are hashed (a key may be 255
 * characters); the operation stays readable for whoever looks at a run's history.
 */
export function updateIdFor(operation: string, idempotency: Idempotency, targetId: string): string {
  const parts = JSON.stringify([idempotency.scope, idempotency.key, idempotency.requestHash, operation, targetId]);
  return `${operation}:${createHash('sha256').update(parts).digest('hex').slice(0, 32)}`;
}
