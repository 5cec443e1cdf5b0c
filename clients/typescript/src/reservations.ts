import type { BillingClient, BillingPaths, Schemas } from './client';

export type ReservationRequest = NonNullable<BillingPaths['/v1/internal/reservations']['post']['requestBody']>['content']['application/json'];
export type Reservation = Schemas['Reservation'];
export type CommitResult = Schemas['CommitResult'];

/** What the work under a hold reports: the units it used (0: none, the hold is released) and its result. */
export interface UsedUnits<T> {
  used: number;
  result: T;
}

export interface ReservationOutcome<T> {
  result: T;
  reservation: Reservation;
  /** The commit's answer; null when the work used nothing and the hold was released. */
  commit: CommitResult | null;
}

export interface ReservationOptions {
  /**
   * Names the reservation (its Idempotency-Key). Give the same key when the whole step is retried
   * (e.g. a redelivered job) to reach the same reservation rather than hold the credits twice; the
   * commit and release keys are derived from it. Default: a new reservation per call.
   */
  key?: string;
}

/**
 * Reserve → run → commit, or release on failure: holds the credits of `request`, runs `work` with
 * the reservation, and commits the units `work` says it used (at most the reserved quantity), or
 * releases the hold when it used none or threw. A refusal to reserve (e.g. 402 INSUFFICIENT_CREDITS)
 * is thrown before `work` runs. When `work` throws, that error is rethrown after the release; a
 * release that fails too is not reported over it, since the hold runs out on its own at `expiresAt`.
 * A commit that fails (after the client's retries) is thrown and the hold is not released: the work
 * was done, and the commit may have gone through with its answer lost.
 */
export async function withReservation<T>(
  client: BillingClient,
  request: ReservationRequest,
  work: (reservation: Reservation) => Promise<UsedUnits<T>>,
  options: ReservationOptions = {},
): Promise<ReservationOutcome<T>> {
  const key = (suffix: string) => (options.key === undefined ? {} : { header: { 'Idempotency-Key': `${options.key}${suffix}` } });
  const reservation = await client.post('/v1/internal/reservations', { body: request, params: key('') });
  const path = { reservationId: reservation.id };
  const release = () => client.post('/v1/internal/reservations/{reservationId}/release', { body: {}, params: { path, ...key(':release') } });

  let outcome: UsedUnits<T>;
  try {
    outcome = await work(reservation);
  } catch (error) {
    await release().catch(() => undefined);
    throw error;
  }
  if (outcome.used === 0) {
    await release();
    return { result: outcome.result, reservation, commit: null };
  }
  const commit = await client.post('/v1/internal/reservations/{reservationId}/commit', {
    body: { quantity: outcome.used },
    params: { path, ...key(':commit') },
  });
  return { result: outcome.result, reservation, commit };
}
