import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(component: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'durable-billing', component } });
}
