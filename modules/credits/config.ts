import { z } from '../../platform/zod';

/** Credit engine settings of the API (merged into modules/config.ts). */
export const creditsConfigShape = {
  /**
   * Group commit for deducts (modules/credits/deduct-batch.ts): deducts arriving while others are being written
   * share one statement and one transaction. true by default; false sends every deduct on its own.
   */
  DEDUCT_GROUP_COMMIT: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
  /** Most deducts in one group (kept under PostgreSQL's 64 cached subtransactions per transaction). */
  DEDUCT_GROUP_MAX_SIZE: z.coerce.number().int().min(2).max(60).default(32),
  /**
   * Groups being written at once (each holds one pooled connection). A deduct arriving while fewer are
   * in flight leaves at once, alone; more than that wait and leave together when one returns.
   */
  DEDUCT_GROUPS_IN_FLIGHT: z.coerce.number().int().min(1).max(100).default(4),
};
