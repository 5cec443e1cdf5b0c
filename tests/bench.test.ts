/**
 * The bench's plumbing (not performance: figures are measured by `npm run bench`, never asserted): the
 * scenario registry reads the folder, the command line is understood, the load runner counts and times what
 * it runs (on a fake clock), and each target prints as the line scripts read.
 */
import { loadScenarios, selectScenarios } from '../scripts/bench/scenario';
import { readSettings, UsageError } from '../scripts/bench/settings';
import { runLoad, type LoadClock } from '../scripts/bench/load';
import { targetLine, type Target } from '../scripts/bench/report';

it('finds every scenario file, in run order', () => {
  const scenarios = loadScenarios();
  expect(scenarios.map((scenario) => scenario.name)).toEqual(['deduct', 'grpc', 'sql-path', 'lifecycle', 'orders', 'events', 'expiry', 'edge', 'memory', 'grown']);
  expect(selectScenarios(scenarios, ['memory', 'deduct', 'edge']).map((scenario) => scenario.name)).toEqual(['deduct', 'edge', 'memory']);
  // `grown` (minutes of growing) runs only when named.
  expect(selectScenarios(scenarios, []).map((scenario) => scenario.name)).not.toContain('grown');
  expect(selectScenarios(scenarios, ['grown']).map((scenario) => scenario.name)).toEqual(['grown']);
  expect(() => selectScenarios(scenarios, ['nosuch'])).toThrow(
    new UsageError('unknown scenario nosuch (scenarios: deduct, grpc, sql-path, lifecycle, orders, events, expiry, edge, memory, grown)'),
  );
});

it('reads scenario names, --seconds and the BENCH_* variables', () => {
  expect(readSettings(['lifecycle', '--seconds', '3'], {})).toMatchObject({ scenarios: ['lifecycle'], measureSeconds: 3, referenceSeconds: 3, runtime: 'compiled' });
  expect(readSettings(['--seconds=7'], { BENCH_SECONDS: '20', BENCH_RUNTIME: 'tsx' })).toMatchObject({ scenarios: [], measureSeconds: 7, runtime: 'tsx' });
  expect(readSettings([], { BENCH_SECONDS: '20' })).toMatchObject({ measureSeconds: 20, referenceSeconds: 5 });
  expect(() => readSettings(['--seconds', '0'], {})).toThrow(UsageError);
  expect(() => readSettings(['--fast'], {})).toThrow(UsageError);
});

/**
 * jest's fake timers as the load runner's clock: time moves only when the test runs the timers, so the
 * counts below are exact whatever the machine's load (on wall time, a loaded CI machine once counted 0
 * operations in a 300 ms window).
 */
const fakeClock: LoadClock = {
  now: () => Date.now(),
  after: (ms, callback) => {
    const timer = setTimeout(callback, ms);
    return () => clearTimeout(timer);
  },
};

describe('the load runner, on a fake clock', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('counts only the operations that finish inside the measured window, with their latency percentiles', async () => {
    let calls = 0;
    // Loop n takes 5 + n ms per operation; loop 3 always fails. Warm-up 100 ms, then a 300 ms window.
    const running = runLoad(
      4,
      300,
      async (loop) => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 5 + loop));
        if (loop === 3) throw new Error('loop 3 fails');
        return { half: 2.5 };
      },
      { warmupMs: 100, clock: fakeClock },
    );
    await jest.runAllTimersAsync();
    const result = await running;

    expect(result.concurrency).toBe(4);
    expect(result.elapsedMs).toBe(300);
    // Finished at 100 <= t < 400 (an operation finishing as the window closes is not counted): loop 0 at
    // 100, 105, ... 395 (60), loop 1 at 102 ... 396 (50), loop 2 at 105 ... 399 (43); loop 3 failed at 104 ... 392.
    expect(result.count).toBe(60 + 50 + 43);
    expect(result.errors).toBe(37);
    // Started before the window closed, the last ones still running then: awaited, not counted.
    expect(calls).toBe(80 + 67 + 58 + 50);
    expect(result.firstError).toBe('(during warm-up) loop 3 fails');
    expect(result.perSecond).toBe(510);
    expect(result).toMatchObject({ p50: 6, p99: 7, max: 7, mean: 5.89 });
    expect(result.parts.half).toMatchObject({ p50: 2.5, p99: 2.5 });
    expect(result.window.end - result.window.start).toBe(300);
  });

  it('reports the measured window to its callbacks when it opens and closes', async () => {
    const seen: Array<[string, number]> = [];
    const started = Date.now();
    const running = runLoad(1, 50, () => new Promise((resolve) => setTimeout(resolve, 10)), {
      warmupMs: 20,
      clock: fakeClock,
      onWindowStart: () => seen.push(['start', Date.now() - started]),
      onWindowEnd: () => seen.push(['end', Date.now() - started]),
    });
    await jest.runAllTimersAsync();
    const result = await running;
    expect(seen).toEqual([
      ['start', 20],
      ['end', 70],
    ]);
    expect(result.count).toBe(5); // finished at 20, 30, 40, 50, 60
  });
});

it('prints each target as the machine-readable line', () => {
  const target: Target = { number: 2, name: 'api-deduct', value: 0.1312, comparison: '>=', goal: 0.125, meaning: '' };
  expect(targetLine(target)).toBe('target 2 api-deduct: 0.131 (goal >= 0.125) met');
  expect(targetLine({ ...target, value: 0.1 })).toBe('target 2 api-deduct: 0.100 (goal >= 0.125) missed');
  expect(targetLine({ number: 4, name: 'api-rss-mib', value: 262.56, comparison: '<=', goal: 200, digits: 1, meaning: '' })).toBe(
    'target 4 api-rss-mib: 262.6 (goal <= 200) missed',
  );
  expect(targetLine({ ...target, value: NaN })).toBe('target 2 api-deduct: - (goal >= 0.125) missed');
  expect(targetLine({ number: 'G', name: 'grpc-deduct', value: 1.08, comparison: '>=', goal: 1, meaning: '' })).toBe('target G grpc-deduct: 1.080 (goal >= 1) met');
});
