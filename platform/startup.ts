import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { sqlPool, type Database } from './database';
import type { Logger } from './logger';

/**
 * What a program checks before it says it has started: the database and Temporal it was pointed at answer,
 * and each port it listens on is its own. Configuration that parses can still be wrong (a host that does not
 * resolve, a port another program holds); a program that started anyway would look healthy while it cannot
 * work. Each failure is a StartupError whose message names the variable to fix; the entry points log it as
 * one line and exit 1.
 */
export class StartupError extends Error {
  constructor(
    message: string,
    /** Logged beside the message: the variable, the address or port, the underlying cause. */
    readonly fields: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'StartupError';
  }
}

/** The underlying error in one line: its code and message; for an AggregateError (one per address tried)
 * each inner one, since its own message is often empty. */
function describeCause(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return [...new Set(error.errors.map(describeCause))].join('; ');
  }
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  const message = error.message || error.name;
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/** A connection URL fit for a log: the password replaced. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

export interface ListenAddress {
  host: string;
  port: number;
  /** The variables that set them, named in the error. */
  hostVariable: string;
  portVariable: string;
}

/** A listen error as a StartupError naming the port and its variable. */
export function listenFailure(error: unknown, where: ListenAddress): StartupError {
  const problem = listenProblem((error as NodeJS.ErrnoException).code, where);
  return new StartupError(problem, { host: where.host, port: where.port, variable: where.portVariable, cause: describeCause(error) });
}

function listenProblem(code: string | undefined, where: ListenAddress): string {
  const at = `port ${where.port} on ${where.host}`;
  switch (code) {
    case 'EADDRINUSE':
      return `${at} is already in use by another program (${where.portVariable}=${where.port}); stop that program or set ${where.portVariable} to a free port`;
    case 'EACCES':
      return `no permission to listen on ${at} (${where.portVariable}=${where.port}); ports below 1024 need privileges`;
    case 'EADDRNOTAVAIL':
      return `${where.host} is not an address of this machine (${where.hostVariable}=${where.host})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${where.hostVariable}=${where.host} does not resolve to an address`;
    default:
      return `cannot listen on ${at} (${where.hostVariable}, ${where.portVariable})`;
  }
}

/**
 * Starts `server` listening and resolves with the address it got (port 0 picks one), or rejects with a
 * StartupError naming the port and its variable. Express 5's `app.listen` hands a listen error to its
 * callback, where it is easy to drop; this waits for either outcome.
 */
export function listenOn(server: Server, where: ListenAddress): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(listenFailure(error, where));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(where.port, where.host);
  });
}

/**
 * One round trip to the database DATABASE_URL points at (bounded by the pool's connect timeout): a host that
 * does not resolve, a server that refuses, a wrong password or database name stop the program at start
 * instead of failing every request later.
 */
export async function checkDatabase(db: Database, url: string): Promise<void> {
  try {
    await sqlPool(db).query('SELECT 1');
  } catch (error) {
    const database = withoutPassword(url);
    throw new StartupError(`cannot connect to the database DATABASE_URL points at (${database}): ${describeCause(error)}`, {
      variable: 'DATABASE_URL',
      database,
      cause: describeCause(error),
    });
  }
}

/** Runs a connection attempt to the Temporal frontend at `address`; its failure names TEMPORAL_ADDRESS. */
export async function connectingToTemporal<T>(address: string, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (error) {
    throw new StartupError(`cannot reach Temporal at TEMPORAL_ADDRESS=${address}: ${describeCause(error)}`, {
      variable: 'TEMPORAL_ADDRESS',
      address,
      cause: describeCause(error),
    });
  }
}

/**
 * The one line a program that cannot start leaves: `<program> failed to start: <what to fix>` with the
 * StartupError's fields, or the error itself when it is something else.
 */
export function logStartFailure(log: Logger, program: string, error: unknown): void {
  if (error instanceof StartupError) log.fatal(error.fields, `${program} failed to start: ${error.message}`);
  else log.fatal({ err: error }, `${program} failed to start`);
}
