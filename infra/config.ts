import { z } from 'zod';

/**
 * All configuration comes from the environment and is validated here, once, at start.
 * A bad value stops the process with a message naming the variable.
 */
const commaList = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean));

const secretKeys = commaList.pipe(z.array(z.string().min(16, 'each key must be at least 16 characters')).min(1));

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' }),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(20),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('billing'),
  /** Keys for business services calling /v1/internal/*. */
  SERVICE_API_KEYS: secretKeys,
  /** Keys for operators calling /v1/admin/*. */
  ADMIN_API_KEYS: secretKeys,
  /** HMAC secret for user tokens (HS256 JWT, `sub` = user id) minted by the calling service. */
  USER_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters'),
  RESERVATION_DEFAULT_HOLD_SECONDS: z.coerce.number().int().min(1).default(900),
  RESERVATION_MAX_HOLD_SECONDS: z.coerce.number().int().min(1).default(86_400),
  /** How long after commit a reservation's consumption can be refunded through its workflow. */
  REFUND_WINDOW_DAYS: z.coerce.number().int().min(0).max(365).default(30),
  /** Validity of a replacement grant when refunded credits belong to a grant that has expired meanwhile. */
  REFUND_GRACE_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(env)'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const config = result.data;
  if (config.RESERVATION_DEFAULT_HOLD_SECONDS > config.RESERVATION_MAX_HOLD_SECONDS) {
    throw new ConfigError('Invalid configuration:\n  RESERVATION_DEFAULT_HOLD_SECONDS: must not exceed RESERVATION_MAX_HOLD_SECONDS');
  }
  return config;
}

/** For process entry points: print a readable message and exit instead of a stack trace. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}
