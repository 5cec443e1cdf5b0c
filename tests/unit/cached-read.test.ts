/**
 * Gauges read from the database at scrape time (platform/metrics.ts cachedRead): the database's work does not
 * grow with the scrape rate. Within the interval every scrape gets the last read's values; concurrent scrapes
 * share one read; a failed read gives nothing (the gauges keep their last values) and the next scrape retries.
 */
import { cachedRead } from '../../platform/metrics';

function counter() {
  let clock = 1_000_000;
  let reads = 0;
  let fail = false;
  const read = cachedRead(
    async () => {
      reads++;
      if (fail) throw new Error('database down');
      return reads;
    },
    { ttlMs: 5_000, now: () => clock },
  );
  return {
    read,
    reads: () => reads,
    advance: (ms: number) => (clock += ms),
    failNext: (value: boolean) => (fail = value),
  };
}

it('reads once per interval however often it is scraped', async () => {
  const gauges = counter();
  for (let scrape = 0; scrape < 50; scrape++) {
    expect(await gauges.read()).toBe(1);
    gauges.advance(99); // 50 scrapes over 4.95 s
  }
  expect(gauges.reads()).toBe(1);
  gauges.advance(100);
  expect(await gauges.read()).toBe(2);
  expect(gauges.reads()).toBe(2);
});

it('shares one read between scrapes that arrive together', async () => {
  const gauges = counter();
  expect(await Promise.all([gauges.read(), gauges.read(), gauges.read()])).toEqual([1, 1, 1]);
  expect(gauges.reads()).toBe(1);
});

it('gives nothing when the read fails, keeps nothing from it, and reads again on the next scrape', async () => {
  const gauges = counter();
  gauges.failNext(true);
  expect(await gauges.read()).toBeUndefined();
  gauges.failNext(false);
  expect(await gauges.read()).toBe(2);
  expect(gauges.reads()).toBe(2);
});
