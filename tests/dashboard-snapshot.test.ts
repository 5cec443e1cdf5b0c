/**
 * The dashboard snapshot's data path against real services: a real Prometheus (Debian's, the package that
 * ships promtool) scrapes a real API's /metrics with a metrics token, with deploy/prometheus's rules
 * loaded, and the dashboard's "Requests per second by route" panel, evaluated the way
 * `npm run dashboard:snapshot` evaluates it (scripts/dashboard/model.ts), draws the deducts the test made
 * under the panel's legend; a panel of series nothing scraped exports answers no data.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GRAFANA_GRID, hasData, pageModel, queryIntervals, toChartSeries, withIntervals, type PagePanel } from '../scripts/dashboard/model';
import { findDebianTool } from '../scripts/services/debian-tools';
import { queryRange, scrapeTargets, startPrometheus, type LocalPrometheus } from '../scripts/services/prometheus';
import { DASHBOARD_FILE, RULE_FILES } from './support/monitoring';
import { grantCredits, newUserId, startStack, type TestStack } from './support/stack';
import { waitFor } from './support/wait';

const METRICS_TOKEN = 'test-metrics-token-dashboard-0123';
const DEDUCT_ROUTE = '/v1/internal/credits/deduct';

const found = process.env.PROMETHEUS ?? findDebianTool('prometheus');
// In CI a missing Prometheus fails (npm run setup installs it with promtool); elsewhere the test is skipped.
const describeWithPrometheus = found || process.env.CI ? describe : describe.skip;

describeWithPrometheus('a dashboard panel evaluated by a real Prometheus scraping a real API', () => {
  let stack: TestStack;
  let prometheus: LocalPrometheus;
  beforeAll(async () => {
    if (!found) throw new Error('prometheus not found: `npm run setup` installs it (Debian package `prometheus`), or set PROMETHEUS to its path.');
    stack = await startStack({ withWorker: false, edge: { METRICS_TOKENS: [METRICS_TOKEN] } });
    prometheus = await startPrometheus({
      jobs: [{ name: 'durable-billing-api', target: new URL(stack.baseUrl).host, bearerToken: METRICS_TOKEN }],
      ruleFiles: RULE_FILES,
      scrapeIntervalSeconds: 1,
    });
  });
  afterAll(async () => {
    await prometheus?.stop();
    await stack?.close();
  });

  const panel = (title: string): PagePanel => pageModel(JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')), { ...GRAFANA_GRID, width: 1600 }).panels.find((p) => p.title === title)!;

  /** The panel's series over the last minute, as the snapshot asks for them. */
  async function evaluate(target: PagePanel) {
    const end = new Date();
    const start = new Date(end.getTime() - 60_000);
    const intervals = queryIntervals(60, 800, 1);
    const series = [];
    for (const query of target.queries) {
      const result = await queryRange(prometheus.url, { query: withIntervals(query.expr, intervals), start, end, stepSeconds: intervals.stepSeconds });
      series.push(...toChartSeries(query, result, target.legendCalcs));
    }
    return series;
  }

  it('scrapes the API with its token and draws its deducts under the panel\'s legend, with the panel\'s calculations', async () => {
    await waitFor(async () => (await scrapeTargets(prometheus.url)).every((t) => t.health === 'up'), 60_000, 'Prometheus scraping the API');
    const userId = newUserId();
    await grantCredits(stack.db, userId, 100_000);

    const requests = panel('Requests per second by route');
    expect(requests.queries.map((q) => q.legendFormat)).toEqual(['{{method}} {{route}}']);
    // Deducts until a scrape after them lets the panel's rate see them (no fixed sleep: the machine may be slow).
    const deducts = await waitFor(
      async () => {
        const answer = await stack.call('POST', DEDUCT_ROUTE, { as: 'service', body: { userId, actionKey: 'ai_chat', quantity: 1 } });
        expect(answer.status).toBe(201);
        const drawn = (await evaluate(requests)).find((s) => s.label === `POST ${DEDUCT_ROUTE}`);
        return drawn && hasData(drawn) && drawn.calcs.max! > 0 ? drawn : undefined;
      },
      90_000,
      'the deducts in the panel',
    );
    expect(Object.keys(deducts.calcs)).toEqual(['mean', 'max']);
    expect(deducts.points.every((p) => p.y === null || p.y >= 0)).toBe(true);
    // The probes and /metrics itself are left out by the panel's query.
    expect((await evaluate(requests)).map((s) => s.label)).not.toContain('GET /metrics');
  });

  it('answers no data for a panel whose series nothing scraped exports (the Temporal SDK\'s: no worker is scraped here)', async () => {
    const pollers = await evaluate(panel('Pollers and free task slots'));
    expect(pollers.filter(hasData)).toEqual([]);
  });
});
