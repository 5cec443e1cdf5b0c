/**
 * Installs and starts the services this project needs outside Node — the Temporal CLI's dev server,
 * PostgreSQL and stripe-mock — for tests, `npm run dev`, `npm run bench` and CI; and runs the project's own
 * programs (API, worker) as child processes under the same rules.
 *
 * Rules every start function follows:
 * - binds to 127.0.0.1 only; port 0/undefined means "pick a free one";
 * - returns only once the service answers real requests, not merely once the process is up;
 * - sends the child's output to a log file (or inherits stdio when asked) and puts the log's tail into
 *   any start error, so a failure is never silent;
 * - no child outlives this process: stopped on exit and on unhandled SIGINT/SIGTERM/SIGHUP, and by a
 *   tiny watchdog process when this one is killed outright (SIGKILL, OOM).
 *
 * Only Node built-ins plus `pg`, `@temporalio/client` and the project's search attribute list (all loaded
 * lazily, so `setup.ts` stays fast).
 *
 * The modules, one job each:
 * - tools.ts: finding (or installing) the Temporal CLI, the time-skipping test server and stripe-mock;
 * - processes.ts: the one child-process manager (dev, tests, bench): children that never outlive us
 *   (watchdog, exit hooks), graceful stops, readiness polling, free ports;
 * - temporal.ts, postgres.ts, stripe-mock.ts: starting each service and deciding when it is ready;
 * - commands.ts: running short-lived commands and finding executables.
 */
export {
  TEMPORAL_CLI_PIP,
  TEMPORAL_CLI_GO,
  TEMPORAL_TEST_SERVER_PIP,
  STRIPE_MOCK_GO,
  resolveTool,
  ensureTemporalCli,
  ensureTemporalTestServer,
  ensureStripeMock,
  type ToolName,
  type ResolvedTool,
  type EnsureToolOptions,
} from './tools';
export {
  findFreePort,
  startProcess,
  startService,
  waitUntilReady,
  ManagedProcess,
  ServiceStartError,
  type LogDestination,
  type ProcessSpec,
} from './processes';
export {
  projectSearchAttributes,
  devServerSearchAttributes,
  startTemporalDevServer,
  type SearchAttributeType,
  type TemporalDevServerOptions,
  type TemporalDevServer,
} from './temporal';
export {
  DATABASE_NAME,
  PostgresNotFoundError,
  findPostgresBinDir,
  startPostgres,
  type PostgresOptions,
  type LocalPostgres,
} from './postgres';
export { startStripeMock, type StripeMockOptions, type StripeMock } from './stripe-mock';
export { startRedis, type RedisOptions, type LocalRedis } from './redis';
