/**
 * The bench's plumbing (not performance: figures are measured by `npm run bench`, never asserted): the
 * scenario registry reads the folder, the command line is understood, the load runner counts and times what
 * it runs, and each target prints as the line scripts read.
 */
import { loadScenarios, selectScenarios } from '../scripts/bench/scenario';
import { readSettings, UsageError } from '../scripts/bench/settings';
import { runLoad } from '../scripts/bench/load';
import { targetLine, type Target } from '../scripts/bench/report';

it('finds every scenario file, in run order', () => {
  const scenarios = loadScenarios();
  expect(scenarios.map((scenario) => scenario.name)).toEqual(['deduct', 'sql-path', 'lifecycle', 'orders', 'events', 'expiry', 'edge', 'memory']);
  expect(selectScenarios(scenarios, ['memory', 'deduct', 'edge']).map((scenario) => scenario.name)).toEqual(['deduct', 'edge', 'memory']);
  expect(() => selectScenarios(scenarios, ['nosuch'])).toThrow(
    new UsageError('unknown scenario nosuch (scenarios: deduct, sql-path, lifecycle, orders, events, expiry, edge, memory)'),
  );
});

it('reads scenario names, --seconds and the BENCH_* variables', () => {
  expect(readSettings(['lifecycle', '--seconds', '3'], {})).toMatchObject({ scenarios: ['lifecycle'], measureSeconds: 3, referenceSeconds: 3, runtime: 'compiled' });
  expect(readSettings(['--seconds=7'], { BENCH_SECONDS: '20', BENCH_RUNTIME: 'tsx' })).toMatchObject({ scenarios: [], measureSeconds: 7, runtime: 'tsx' });
  expect(readSettings([], { BENCH_SECONDS: '20' })).toMatchObject({ measureSeconds: 20, referenceSeconds: 5 });
  expect(() => readSettings(['--seconds', '0'], {})).toThrow(UsageError);
  expect(() => readSettings(['--fast'], {})).toThrow(UsageError);
});

it('counts only the operations that finish inside the measured window, with their latency percentiles', async () => {
  let calls = 0;
  const result = await runLoad(
    4,
    300,
    async (loop) => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 5 + loop));
      if (loop === 3) throw new Error('loop 3 fails');
      return { half: 2.5 };
    },
    { warmupMs: 100 },
  );
  expect(result.concurrency).toBe(4);
  expect(result.count).toBeGreaterThan(20);
  expect(result.count).toBeLessThan(calls);
  expect(result.errors).toBeGreaterThan(0);
  expect(result.firstError).toContain('loop 3 fails');
  expect(result.p50).toBeGreaterThanOrEqual(4);
  expect(result.p99).toBeGreaterThanOrEqual(result.p50);
  expect(result.max).toBeGreaterThanOrEqual(result.p99);
  expect(result.parts.half).toMatchObject({ p50: 2.5, p99: 2.5 });
  expect(result.perSecond).toBeCloseTo((result.count / result.elapsedMs) * 1000, 0);
});

it('prints each target as the machine-readable line', () => {
  const target: Target = { number: 2, name: 'api-deduct', value: 0.1312, comparison: '>=', goal: 0.125, meaning: '' };
  expect(targetLine(target)).toBe('target 2 api-deduct: 0.131 (goal >= 0.125) met');
  expect(targetLine({ ...target, value: 0.1 })).toBe('target 2 api-deduct: 0.100 (goal >= 0.125) missed');
  expect(targetLine({ number: 4, name: 'api-rss-mib', value: 262.56, comparison: '<=', goal: 200, digits: 1, meaning: '' })).toBe(
    'target 4 api-rss-mib: 262.6 (goal <= 200) missed',
  );
  expect(targetLine({ ...target, value: NaN })).toBe('target 2 api-deduct: - (goal >= 0.125) missed');
});
