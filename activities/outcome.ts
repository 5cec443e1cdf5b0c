import { BillingError } from '../platform/errors';

/**
 * A business refusal (BillingError: not enough credits, not held...) is an answer, not a failure: it
 * comes back as a value, so it is neither retried nor logged as a failed activity, and the workflow
 * hands it to the caller with its stable code. Anything else (a lost connection, say) throws and is
 * retried. Shared by every feature's activities.
 */
export type Outcome<T> = { ok: true; value: T } | { ok: false; refusal: Refusal };

interface Refusal {
  code: string;
  message: string;
  details: unknown;
}

export async function asOutcome<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    if (error instanceof BillingError) {
      return { ok: false, refusal: { code: error.code, message: error.message, details: error.details ?? null } };
    }
    throw error;
  }
}
