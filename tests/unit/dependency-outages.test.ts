/**
 * Outage classification by class and code (platform/dependency-errors.ts) and the outage state's
 * logging: one line when a dependency goes down, one when it is back, none per request.
 */
import { status as grpcStatus, Metadata } from '@grpc/grpc-js';
import { ServiceError } from '@temporalio/client';
import { BillingError } from '../../platform/errors';
import { Prisma } from '../../generated/prisma/client';
import { DependencyUnavailableError, dependencyOutageError, isDatabaseUnavailable, isTemporalUnavailable } from '../../platform/dependency-errors';
import { DependencyMonitor } from '../../platform/dependency-health';
import { toApiError } from '../../platform/temporal-errors';

const known = (code: string, cause?: Record<string, unknown>) =>
  new Prisma.PrismaClientKnownRequestError('x', { code, clientVersion: '7', meta: cause ? { driverAdapterError: { name: 'DriverAdapterError', cause } } : undefined });
const grpcError = (code: grpcStatus) => Object.assign(new Error(`${code} grpc`), { code, details: 'd', metadata: new Metadata() });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['refused (model query, measured)', known('P1001', { kind: 'DatabaseNotReachable' }), true],
    ['refused (raw query, measured)', known('P2010', { kind: 'DatabaseNotReachable' }), true],
    ['shut down mid-statement (measured: 57P01)', known('P2010', { kind: 'postgres', originalCode: '57P01' }), true],
    ['starting up (57P03)', known('P2010', { kind: 'postgres', originalCode: '57P03' }), true],
    ['pool timeout', known('P2024'), true],
    ['a unique violation', known('P2002'), false],
    ['a check violation', known('P2010', { kind: 'postgres', originalCode: '23514' }), false],
    ['a business refusal', new BillingError('INSUFFICIENT_CREDITS', 'no'), false],
    ['a plain Error', new Error('Connection terminated'), false],
  ])('%s', (_name, error, expected) => {
    expect(isDatabaseUnavailable(error)).toBe(expected);
  });
});

describe('Temporal failures', () => {
  it('gRPC UNAVAILABLE anywhere in the cause chain (e.g. Update-With-Start "could not be executed") is an outage: 503 with Retry-After', () => {
    const wrapped = new ServiceError('Update-With-Start failed', { cause: grpcError(grpcStatus.UNAVAILABLE) });
    expect(isTemporalUnavailable(wrapped)).toBe(true);
    const mapped = toApiError(wrapped, 3);
    expect(mapped).toBeInstanceOf(DependencyUnavailableError);
    expect((mapped as BillingError).details).toEqual({ retryable: true, retryAfterSeconds: 3, dependency: 'temporal' });
  });

  it('other gRPC codes are not outages', () => {
    expect(isTemporalUnavailable(new ServiceError('x', { cause: grpcError(grpcStatus.INVALID_ARGUMENT) }))).toBe(false);
    expect(dependencyOutageError(new Error('bug'), 1)).toBeUndefined();
  });
});

describe('DependencyMonitor', () => {
  // Its probe timer runs on jest's fake timers: the probes happen when the test moves time, not when a
  // loaded machine gets round to them.
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('logs once when a dependency goes down, fails fast while down, logs once when it is back', async () => {
    const lines: string[] = [];
    let probes = 0;
    const log = { warn: (_o: unknown, m: string) => lines.push(`warn ${m}`), info: (_o: unknown, m: string) => lines.push(`info ${m}`) };
    let up = false;
    const monitor = new DependencyMonitor('database', async () => {
      probes++;
      if (!up) throw new Error('down');
    }, log as never, { retryAfterSeconds: 2, probeIntervalMs: 20 });
    try {
      for (let i = 0; i < 50; i++) monitor.markDown(new Error('refused'));
      expect(() => monitor.assertAvailable()).toThrow(DependencyUnavailableError);
      await jest.advanceTimersByTimeAsync(100);
      expect(probes).toBe(5); // one every 20 ms, each failing
      expect(monitor.isDown).toBe(true);
      up = true;
      await jest.advanceTimersByTimeAsync(20);
      expect(probes).toBe(6);
      expect(monitor.isDown).toBe(false);
      expect(() => monitor.assertAvailable()).not.toThrow();
      expect(lines).toEqual(['warn database unavailable: answering 503 SERVICE_UNAVAILABLE with Retry-After until it is back', 'info database available again']);
      expect(await monitor.confirmDown(new Error('unclassified'))).toBe(false);
    } finally {
      monitor.close();
    }
  });
});
