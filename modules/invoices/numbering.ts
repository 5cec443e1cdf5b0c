/**
 * The next number of a series, from its counter row: INSERT ... ON CONFLICT DO UPDATE raises the row
 * and locks it to the end of the caller's transaction, so concurrent issuers queue on it and a
 * rolled-back issue gives its number back. Not a SEQUENCE: those leave gaps on rollback.
 */
import type { Tx } from '../../platform/database';
import { counterKey, documentNumber, seriesFor, type DocumentKind, type NumberingPolicy } from './rules/numbering';

export interface AllocatedNumber {
  series: string;
  sequence: number;
  number: string;
}

export async function allocateNumber(tx: Tx, kind: DocumentKind, policy: NumberingPolicy, issuedAt: Date): Promise<AllocatedNumber> {
  const series = seriesFor(policy, issuedAt);
  const [row] = await tx.$queryRaw<Array<{ last_number: number }>>`
    INSERT INTO document_number_counters (series, last_number) VALUES (${counterKey(kind, series)}, 1)
    ON CONFLICT (series) DO UPDATE SET last_number = document_number_counters.last_number + 1
    RETURNING last_number`;
  const sequence = row!.last_number;
  return { series, sequence, number: documentNumber(series, sequence) };
}
