/**
 * The key-reuse rule, in one place: a retry with the same Idempotency-Key and the same request replays
 * the first answer; the same key with another request is refused. Pure (workflow-safe): the HTTP edge,
 * the idempotency store, activities and workflows all judge a retry with it.
 */
import { BillingError } from '../errors';

/** What the caller asked for under one key: the credential's namespace, the key and the request's fingerprint. */
export interface Idempotency {
  /** The caller's namespace for keys: the credential id, e.g. `service:ab12…` or `admin:cd34…`. */
  scope: string;
  key: string;
  /** Fingerprint of the operation and its parameters (platform/idempotency/fingerprint.ts). */
  requestHash: string;
}

export function keyReused(): BillingError {
  return new BillingError(
    'IDEMPOTENCY_KEY_REUSED',
    'This Idempotency-Key was already used with different parameters; use a new key for a new request.',
  );
}

/**
 * Judges a request against what was first recorded under its key: `true` is a replay (answer with the
 * first result), `false` a first use; a different request under the same key throws.
 */
export function isReplayOf(recordedHash: string | undefined, requestHash: string): boolean {
  if (recordedHash === undefined) return false;
  if (recordedHash !== requestHash) throw keyReused();
  return true;
}
