import { loadConfig, orExit } from '../infra/config';
import { createDatabase } from '../infra/database';
import { createLogger } from '../infra/logger';
import { connectTemporal } from '../infra/temporal';
import { createApp } from './app';
import { Authenticator } from './auth';
import { answerParserErrorsWithEnvelope } from './server';

/** Production entry point: `npm run api`. SIGINT/SIGTERM stop accepting, finish in-flight requests, exit. */
async function main(): Promise<void> {
  const config = orExit(() => loadConfig());
  const log = createLogger('api', config.LOG_LEVEL);
  const db = createDatabase(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  const temporal = await connectTemporal(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE);
  const authenticator = new Authenticator({
    serviceKeys: config.SERVICE_API_KEYS,
    adminKeys: config.ADMIN_API_KEYS,
    userTokenSecret: config.USER_TOKEN_SECRET,
  });
  const app = createApp({ db, temporal, authenticator, config }, log);
  const server = app.listen(config.PORT, config.HOST, () => {
    log.info({ url: `http://${config.HOST}:${config.PORT}` }, 'api listening');
  });
  answerParserErrorsWithEnvelope(server, log);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'api shutting down');
    const force = setTimeout(() => {
      log.warn('shutdown grace period over; closing remaining connections');
      server.closeAllConnections();
    }, config.SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(async () => {
      await temporal.connection.close();
      await db.$disconnect();
      log.info('api stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  createLogger('api').fatal({ err: error }, 'api failed to start');
  process.exit(1);
});
