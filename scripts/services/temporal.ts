/**
 * The Temporal CLI's dev server: a whole Temporal cluster in one process, for tests and `npm run dev`.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { SearchAttributeType as SdkSearchAttributeType } from '@temporalio/common';
import { DEFAULT_READY_TIMEOUT_MS, LOOPBACK, defaultLogFile, findFreePort, onFreePort, startService, type LogDestination } from './processes';
import { ensureTemporalCli } from './tools';

/** The type names of `temporal server start-dev --search-attribute Name=Type`. */
export type SearchAttributeType = 'Text' | 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

/** The CLI's name for each SDK search attribute type (`defineSearchAttributeKey(name, type)`). */
const CLI_TYPE_NAMES: Readonly<Record<SdkSearchAttributeType, SearchAttributeType>> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/**
 * The project's search attributes (workflows/search-attributes.ts, the one list) with their types, as the dev
 * server's command line registers them, so workflows can set them from the first start. Loaded lazily:
 * `npm run setup` uses this module and needs no Temporal SDK.
 */
export async function projectSearchAttributes(): Promise<Record<string, SearchAttributeType>> {
  const { SEARCH_ATTRIBUTE_KEYS } = await import('../../workflows/search-attributes');
  return devServerSearchAttributes(SEARCH_ATTRIBUTE_KEYS);
}

/** `{ name: CLI type }` for the given keys. */
export function devServerSearchAttributes(
  keys: ReadonlyArray<{ name: string; type: SdkSearchAttributeType }>,
): Record<string, SearchAttributeType> {
  return Object.fromEntries(keys.map((key) => [key.name, CLI_TYPE_NAMES[key.type]]));
}

/** Update-With-Start needs ExecuteMultiOperation; the Update flags match what the SDK's own launcher sets. */
const DEV_SERVER_DYNAMIC_CONFIG = [
  'frontend.enableExecuteMultiOperation=true',
  'frontend.enableUpdateWorkflowExecution=true',
  'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
];

export interface TemporalDevServerOptions {
  /** gRPC frontend port; 0/undefined picks a free port. */
  port?: number;
  /** Web UI port; 0/undefined picks a free port, false runs headless. */
  uiPort?: number | false;
  /** SQLite file to persist state across restarts; without it everything is in memory. */
  dbFile?: string;
  /** Server log level: debug, info, warn (default), error, never. */
  logLevel?: string;
  /** Extra namespaces to create ("default" always exists). */
  namespaces?: string[];
  /** Default: the project's, projectSearchAttributes(). */
  searchAttributes?: Readonly<Record<string, SearchAttributeType>>;
  /** Default: `<dbFile>.log`, or a file in the OS temp dir when in memory. */
  log?: LogDestination;
  /** Default 30 s. */
  readyTimeoutMs?: number;
  /** Extra `KEY=VALUE` dynamic config, e.g. a low continue-as-new threshold for a test. */
  dynamicConfig?: string[];
}

export interface TemporalDevServer {
  /** host:port for `Connection.connect({ address })` / TEMPORAL_ADDRESS. */
  address: string;
  port: number;
  uiUrl?: string;
  logFile?: string;
  pid: number;
  stop(): Promise<void>;
}

/** Ready means usable: the frontend answers, every namespace exists, every search attribute is registered. */
async function temporalIsReady(address: string, namespaces: string[], searchAttributes: string[]): Promise<void> {
  const { Connection } = await import('@temporalio/client');
  // A fresh lazy connection per attempt, always closed: a failed Connection.connect() leaks its channel.
  const connection = Connection.lazy({ address, connectTimeout: 2_000 });
  try {
    await connection.ensureConnected();
    for (const namespace of namespaces) {
      await connection.workflowService.describeNamespace({ namespace });
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      const missing = searchAttributes.filter((name) => !(name in (customAttributes ?? {})));
      if (missing.length > 0) throw new Error(`search attributes not yet registered in ${namespace}: ${missing.join(', ')}`);
    }
  } finally {
    await connection.close();
  }
}

export async function startTemporalDevServer(options: TemporalDevServerOptions = {}): Promise<TemporalDevServer> {
  const cli = await ensureTemporalCli();
  const searchAttributes = options.searchAttributes ?? (await projectSearchAttributes());
  const namespaces = ['default', ...(options.namespaces ?? []).filter((name) => name !== 'default')];
  if (options.dbFile) await fsp.mkdir(path.dirname(path.resolve(options.dbFile)), { recursive: true });

  return onFreePort(options.port, async (port) => {
    const uiPort = options.uiPort === false ? undefined : options.uiPort || (await findFreePort());
    const args = [
      'server', 'start-dev',
      '--ip', LOOPBACK,
      '--port', String(port),
      ...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]),
      ...(options.dbFile ? ['--db-filename', path.resolve(options.dbFile)] : []),
      '--log-level', options.logLevel ?? 'warn',
      ...namespaces.slice(1).flatMap((name) => ['--namespace', name]),
      ...Object.entries(searchAttributes).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
      ...[...DEV_SERVER_DYNAMIC_CONFIG, ...(options.dynamicConfig ?? [])].flatMap((entry) => ['--dynamic-config-value', entry]),
    ];
    const address = `${LOOPBACK}:${port}`;
    const service = await startService(
      {
        name: 'temporal dev server',
        command: cli,
        args,
        log: options.log ?? (options.dbFile ? `${path.resolve(options.dbFile)}.log` : defaultLogFile('temporal', port)),
        stopSignals: ['SIGTERM'],
        // SQLite survives a kill; the in-memory store has nothing to lose.
        emergencySignal: 'SIGKILL',
      },
      () => temporalIsReady(address, namespaces, Object.keys(searchAttributes)),
      options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    );
    return {
      address,
      port,
      uiUrl: uiPort === undefined ? undefined : `http://${LOOPBACK}:${uiPort}`,
      logFile: service.logFile,
      pid: service.pid,
      stop: () => service.stop(),
    };
  });
}
