/**
 * Configuration of events/ (relay, webhooks, notifications), validated by zod from the environment.
 * Kept here rather than in modules/config.ts so the feature owns its settings; both the API and the worker
 * load it (the API encrypts endpoint secrets, the worker signs and sends).
 */
import { z } from 'zod';
import { DEFAULT_RETRY_SCHEDULE_MS } from './rules/webhook-retries';
import { envWholeNumber } from '../../platform/schemas';

/** Development-only key; production refuses it (see loadEventsConfig). */
const DEV_SECRETS_KEY = Buffer.alloc(32, 'change-me-dev-only').toString('base64');

const eventsConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  /** `balance.low` fires when available credits fall below this (once per crossing). */
  BALANCE_LOW_THRESHOLD: envWholeNumber({ min: 0, max: 2_147_483_647, default: 10 }),
  /** false: this worker runs no relay (another process does). */
  EVENTS_RELAY_ENABLED: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
  /** How often the relay looks for events not yet handed to Temporal. */
  EVENTS_RELAY_INTERVAL_MS: envWholeNumber({ min: 10, max: 60_000, default: 250 }),
  EVENTS_RELAY_BATCH_SIZE: envWholeNumber({ min: 1, max: 1000, default: 100 }),
  /** Delays before each webhook attempt, in ms, comma-separated; default Svix's schedule (8 attempts over ~28 h). */
  WEBHOOK_RETRY_SCHEDULE_MS: z
    .string()
    .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'comma-separated whole numbers of milliseconds')
    .transform((value) => value.split(',').map((part) => Number(part.trim())))
    .optional()
    .transform((value) => value ?? [...DEFAULT_RETRY_SCHEDULE_MS]),
  /** Time limit of one POST to a receiver. */
  WEBHOOK_TIMEOUT_MS: envWholeNumber({ min: 100, max: 120_000, default: 15_000 }),
  /** An endpoint failing for this long (no success in between) is disabled. */
  WEBHOOK_DISABLE_AFTER_HOURS: envWholeNumber({ min: 1, max: 24 * 90, default: 5 * 24 }),
  /** How long the previous secret keeps signing after a rotation, by default. */
  WEBHOOK_ROTATION_OVERLAP_HOURS: envWholeNumber({ min: 0, max: 24 * 30, default: 24 }),
  /** 32 bytes, base64: the key that encrypts endpoint secrets at rest (AES-256-GCM). */
  WEBHOOK_SECRETS_KEY: z
    .string()
    .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
    .default(DEV_SECRETS_KEY),
  /** Mail: smtp://user:pass@host:port (smtps:// for TLS). Dev: the sink `npx tsx scripts/services/smtp-sink.ts` starts. */
  SMTP_URL: z.url({ protocol: /^smtps?$/ }).default('smtp://127.0.0.1:1025'),
  MAIL_FROM: z.string().min(3).default('durable-billing <billing@localhost>'),
});

export type EventsConfig = z.infer<typeof eventsConfigSchema>;

export function loadEventsConfig(env: NodeJS.ProcessEnv = process.env): EventsConfig {
  const result = eventsConfigSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid events configuration:\n${lines.join('\n')}`);
  }
  if (result.data.NODE_ENV === 'production' && result.data.WEBHOOK_SECRETS_KEY === DEV_SECRETS_KEY) {
    throw new Error('Invalid events configuration:\n  WEBHOOK_SECRETS_KEY: set a real key in production');
  }
  return result.data;
}

let cached: EventsConfig | undefined;
/** The process's events configuration, read once (business transactions use the threshold). */
export function eventsConfig(): EventsConfig {
  cached ??= loadEventsConfig();
  return cached;
}
