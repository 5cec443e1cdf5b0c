import type { Database } from '../../platform/database';

export interface OpenHolds {
  /** Reservations in status `held`. */
  held: number;
  /** Credits those reservations hold. */
  creditsHeld: number;
  /** Held reservations whose deadline passed more than a minute ago: with a healthy worker, zero. */
  pastDeadline: number;
}

/** Reservation holds open right now (for the holds gauges of /metrics). One aggregate query. */
export async function openHolds(db: Database): Promise<OpenHolds> {
  const [row] = await db.$queryRaw<Array<{ held: number; credits_held: number; past_deadline: number }>>`
    SELECT COUNT(*)::int AS held,
           COALESCE(SUM(credits_held), 0)::int AS credits_held,
           COUNT(*) FILTER (WHERE expires_at < now() - interval '1 minute')::int AS past_deadline
    FROM reservations WHERE status = 'held'`;
  return { held: row?.held ?? 0, creditsHeld: row?.credits_held ?? 0, pastDeadline: row?.past_deadline ?? 0 };
}
