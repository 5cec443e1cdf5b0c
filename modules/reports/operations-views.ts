/**
 * Views of the operator endpoints (api/routes/operations.ts). Additive changes only (see
 * docs/architecture.md, Stored views).
 */
import { LedgerEntryType } from '../../generated/prisma/enums';
import { z } from '../../platform/zod';
import { reservationSchema } from '../credits';
import { uuidSchema } from '../../platform/schemas';

export const reservationPageSchema = z
  .object({ items: z.array(reservationSchema), nextCursor: z.string().nullable() })
  .openapi('ReservationPage');

export const ledgerEntrySchema = z
  .object({
    id: z.string().openapi({ description: 'Entry number (increasing), as a string: it may exceed 2^53.' }),
    grantId: uuidSchema,
    userId: z.string(),
    entryType: z.enum(LedgerEntryType),
    amount: z.number().int().openapi({ description: 'Change to the grant\'s available credits.' }),
    reservedDelta: z.number().int(),
    usedDelta: z.number().int(),
    referenceType: z.string(),
    referenceId: z.string(),
    idempotencyKey: z.string().nullable(),
    actor: z.string(),
    createdAt: z.string(),
  })
  .openapi('LedgerEntry');

export const ledgerPageSchema = z
  .object({ grantId: uuidSchema, items: z.array(ledgerEntrySchema), nextCursor: z.string().nullable() })
  .openapi('LedgerPage');

const grantBalanceCheckSchema = z.object({
  grantId: uuidSchema,
  status: z.string(),
  total: z.number().int(),
  used: z.number().int(),
  reserved: z.number().int(),
  available: z.number().int().openapi({ description: 'total - used - reserved' }),
  ledgerAvailable: z.number().int().openapi({ description: 'Sum of the ledger amounts.' }),
  ledgerReserved: z.number().int(),
  ledgerUsed: z.number().int(),
});

export const invariantReportSchema = z
  .object({
    userId: z.string(),
    checkedAt: z.string(),
    ok: z.boolean(),
    grantsChecked: z.number().int(),
    mismatches: z.array(grantBalanceCheckSchema).openapi({ description: 'Grants whose balances and ledger disagree, or whose available is negative.' }),
  })
  .openapi('InvariantReport');

export type ReservationPage = z.infer<typeof reservationPageSchema>;
export type LedgerPage = z.infer<typeof ledgerPageSchema>;
export type InvariantReport = z.infer<typeof invariantReportSchema>;
