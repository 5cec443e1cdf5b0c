/**
 * Document numbers: `<prefix>-<year>-<000123>` per year (the default) or `<prefix>-<000123>` for one
 * series for ever. The series is the counter's key; the sequence comes from its counter row, raised in
 * the issuing transaction, so numbers have no gaps and no repeats. Pure and workflow-safe.
 */
export type DocumentKind = 'invoice' | 'credit_note';

export interface NumberingPolicy {
  prefix: string;
  perYear: boolean;
}

/** The series a document issued at `issuedAt` belongs to (years in UTC). */
export function seriesFor(policy: NumberingPolicy, issuedAt: Date): string {
  return policy.perYear ? `${policy.prefix}-${issuedAt.getUTCFullYear()}` : policy.prefix;
}

export function documentNumber(series: string, sequence: number): string {
  return `${series}-${String(sequence).padStart(6, '0')}`;
}

/** The counter row's key: a credit note series never shares a counter with an invoice series. */
export function counterKey(kind: DocumentKind, series: string): string {
  return `${kind}:${series}`;
}
