import { z } from '../../platform/zod';

/** Lifecycle settings from the environment (merged into modules/config.ts). */
export const lifecycleConfigShape = {
  /** Package given once to every new user by POST /v1/internal/users/:userId/signup. */
  DEFAULT_PACKAGE_CODE: z.string().min(1).max(64).default('new_user_trial'),
  /** Reminder lead times before expiry, days, comma-separated (default "7,1"). */
  LIFECYCLE_REMINDER_LEAD_DAYS: z
    .string()
    .regex(/^\s*\d+(\.\d+)?\s*(,\s*\d+(\.\d+)?\s*)*$/, 'comma-separated positive numbers of days, e.g. 7,1')
    .default('7,1')
    .transform((value) => value.split(',').map(Number)),
  /** Minutes between expiry sweeps (default 15). */
  EXPIRY_SWEEP_EVERY_MINUTES: z.coerce.number().int().min(1).max(1440).default(15),
  /** Prefix of the schedule ids (default billing-), so several deployments can share a namespace. */
  SCHEDULE_ID_PREFIX: z.string().regex(/^[a-z0-9-]{0,40}$/).default('billing-'),
  /** Where the daily inspection mails its findings (optional: no mail when unset). */
  OPERATOR_EMAIL: z.email().optional(),
  /** Create the Temporal Schedules at worker start (default true). */
  SCHEDULES_ENABLED: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
};
