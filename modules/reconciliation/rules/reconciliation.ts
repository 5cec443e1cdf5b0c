/**
 * Gateway reconciliation: our payments against the gateway's records for one channel and period.
 * Pure: the reconciliation service gathers both sides, this decides what disagrees.
 *
 * Kinds (stable):
 * - `paid_not_provisioned`: the gateway took the money, our order has no payment or never completed
 *   (re-drivable: the order workflow is signalled with the gateway's payment).
 * - `provisioned_without_payment`: we recorded a payment (or provisioned) that the gateway has no
 *   successful record of.
 * - `amount_mismatch`, `currency_mismatch`: both know the payment, they disagree on it.
 * - `refund_only_at_gateway`: the gateway refunded more than we recorded.
 * - `refund_only_local`: we recorded more refunds than the gateway made.
 */
export const MISMATCH_KINDS = [
  'paid_not_provisioned',
  'provisioned_without_payment',
  'amount_mismatch',
  'currency_mismatch',
  'refund_only_at_gateway',
  'refund_only_local',
] as const;
type MismatchKind = (typeof MISMATCH_KINDS)[number];

export interface LocalPayment {
  orderId: string;
  orderStatus: string;
  /** Null when no payment was recorded. */
  payment: { externalId: string; amountMinor: number; currency: string; source: string } | null;
  refundedMinor: number;
}

export interface GatewayRecord {
  orderId: string | null;
  externalId: string;
  amountMinor: number;
  currency: string;
  succeeded: boolean;
  refundedMinor: number;
}

export interface Mismatch {
  kind: MismatchKind;
  orderId: string | null;
  externalId: string | null;
  ours: Record<string, unknown> | null;
  theirs: Record<string, unknown> | null;
}

const PROVISIONED = new Set(['completed', 'partially_refunded', 'refunded']);

export function findMismatches(ours: LocalPayment[], theirs: GatewayRecord[]): Mismatch[] {
  const mismatches: Mismatch[] = [];
  const byOrder = new Map<string, GatewayRecord>();
  for (const record of theirs) {
    if (!record.succeeded) continue;
    if (record.orderId) byOrder.set(record.orderId, record);
    else if (record.refundedMinor > 0) {
      mismatches.push({ kind: 'refund_only_at_gateway', orderId: null, externalId: record.externalId, ours: null, theirs: { ...record } });
    }
  }
  const local = new Map(ours.map((entry) => [entry.orderId, entry]));
  for (const [orderId, record] of byOrder) {
    const entry = local.get(orderId);
    const theirView = { ...record };
    // The saga refunded a payment it could not provision: both sides agree the money went back.
    if (entry && entry.orderStatus === 'failed' && record.refundedMinor >= record.amountMinor) continue;
    if (!entry || !entry.payment || !PROVISIONED.has(entry.orderStatus)) {
      mismatches.push({ kind: 'paid_not_provisioned', orderId, externalId: record.externalId, ours: entry ? { ...entry } : null, theirs: theirView });
      continue;
    }
    if (entry.payment.currency !== record.currency) {
      mismatches.push({ kind: 'currency_mismatch', orderId, externalId: record.externalId, ours: { ...entry }, theirs: theirView });
    } else if (entry.payment.amountMinor !== record.amountMinor) {
      mismatches.push({ kind: 'amount_mismatch', orderId, externalId: record.externalId, ours: { ...entry }, theirs: theirView });
    }
    if (record.refundedMinor > entry.refundedMinor) {
      mismatches.push({ kind: 'refund_only_at_gateway', orderId, externalId: record.externalId, ours: { ...entry }, theirs: theirView });
    } else if (record.refundedMinor < entry.refundedMinor) {
      mismatches.push({ kind: 'refund_only_local', orderId, externalId: record.externalId, ours: { ...entry }, theirs: theirView });
    }
  }
  for (const entry of ours) {
    if (byOrder.has(entry.orderId)) continue;
    if (entry.payment || PROVISIONED.has(entry.orderStatus)) {
      mismatches.push({ kind: 'provisioned_without_payment', orderId: entry.orderId, externalId: entry.payment?.externalId ?? null, ours: { ...entry }, theirs: null });
    }
  }
  return mismatches;
}
