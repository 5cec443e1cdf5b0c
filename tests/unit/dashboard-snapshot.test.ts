/**
 * The pure part of `npm run dashboard:snapshot` (scripts/dashboard/): the dashboard JSON turned into the
 * page model (every panel, boxes from gridPos as Grafana's grid places them, queries, legends and units as
 * the JSON has them), Grafana's interval variables, Prometheus' range answers turned into series, unit
 * scales, and the page (banner, "No data" panels, one chart per panel with data). No Prometheus needed:
 * tests/dashboard-snapshot.test.ts evaluates a panel against a real one.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  GRAFANA_GRID,
  axisScale,
  boxOf,
  formatValue,
  hasData,
  legendOf,
  pageModel,
  queryIntervals,
  toChartSeries,
  unitOf,
  withIntervals,
  type GridGeometry,
} from '../../scripts/dashboard/model';
import { BANNER_HEIGHT, chartSpec, isEmpty, legendRowsThatFit, pageHtml, type PageContext, type PanelData } from '../../scripts/dashboard/page';

const DASHBOARD = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'deploy', 'grafana', 'durable-billing.json'), 'utf8'));
const GRID: GridGeometry = { ...GRAFANA_GRID, width: 1600 };

interface JsonPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  fieldConfig?: { defaults?: { unit?: string; min?: number } };
  options?: { legend?: { calcs?: string[] } };
  targets?: Array<{ refId: string; expr: string; legendFormat?: string }>;
}

describe('the page model of deploy/grafana/durable-billing.json', () => {
  const model = pageModel(DASHBOARD, GRID);
  const jsonPanels = DASHBOARD.panels as JsonPanel[];

  it('has every panel of the JSON, rows included, with its queries, legendFormats, unit, minimum and legend calculations', () => {
    expect(model.panels.map((p) => p.id).sort((a, b) => a - b)).toEqual(jsonPanels.map((p) => p.id).sort((a, b) => a - b));
    for (const json of jsonPanels) {
      const panel = model.panels.find((p) => p.id === json.id)!;
      expect({ id: json.id, kind: panel.kind, title: panel.title, gridPos: panel.gridPos }).toEqual({
        id: json.id,
        kind: json.type === 'row' ? 'row' : 'graph',
        title: json.title,
        gridPos: json.gridPos,
      });
      if (json.type === 'row') continue;
      expect(panel.queries).toEqual(json.targets!.map((t) => ({ refId: t.refId, expr: t.expr, legendFormat: t.legendFormat })));
      expect(panel.unit).toBe(json.fieldConfig!.defaults!.unit);
      expect(panel.min).toBe(json.fieldConfig!.defaults!.min);
      expect(panel.legendCalcs).toEqual(json.options!.legend!.calcs);
    }
  });

  it('places panels as Grafana\'s grid does: 24 columns, 30 px rows, 8 px margins; side by side, stacked, never overlapping', () => {
    // (1600 - 23 × 8) / 24 = 59 px a column.
    expect(boxOf({ x: 0, y: 1, w: 12, h: 8 }, GRID)).toEqual({ left: 0, top: 38, width: 12 * 59 + 11 * 8, height: 8 * 30 + 7 * 8 });
    expect(boxOf({ x: 12, y: 1, w: 12, h: 8 }, GRID)).toEqual({ left: 12 * 67, top: 38, width: 796, height: 296 });
    expect(boxOf({ x: 0, y: 0, w: 24, h: 1 }, GRID)).toEqual({ left: 0, top: 0, width: 1600, height: 30 });

    const requests = model.panels.find((p) => p.title === 'Requests per second by route')!;
    const errors = model.panels.find((p) => p.title === '5xx answers per second by route')!;
    expect(errors.box.top).toBe(requests.box.top);
    expect(errors.box.left).toBe(requests.box.left + requests.box.width + GRID.margin);
    const refusals = model.panels.find((p) => p.title === 'Refusals per second by code')!;
    expect(refusals.box.top).toBe(requests.box.top + requests.box.height + GRID.margin);

    for (const [i, a] of model.panels.entries()) {
      expect(a.box.left + a.box.width).toBeLessThanOrEqual(GRID.width);
      for (const b of model.panels.slice(i + 1)) {
        const overlap = a.box.left < b.box.left + b.box.width && b.box.left < a.box.left + a.box.width && a.box.top < b.box.top + b.box.height && b.box.top < a.box.top + a.box.height;
        expect({ a: a.id, b: b.id, overlap }).toEqual({ a: a.id, b: b.id, overlap: false });
      }
    }
    const bottom = Math.max(...jsonPanels.map((p) => p.gridPos.y + p.gridPos.h));
    expect(model.height).toBe(bottom * 30 + (bottom - 1) * 8);
  });

  it('gives a series the unit of the override that matches it (Relay lag: events waiting are a count, on a second axis)', () => {
    const relayLag = model.panels.find((p) => p.title === 'Relay lag')!;
    expect(relayLag.unit).toBe('s');
    expect(relayLag.unitOverrides).toEqual([{ match: { by: 'name', value: 'events waiting' }, unit: 'short' }]);
    expect(unitOf(relayLag, { refId: 'A', label: 'oldest waiting' })).toBe('s');
    expect(unitOf(relayLag, { refId: 'B', label: 'events waiting' })).toBe('short');
    const byRef = pageModel(
      { panels: [{ id: 1, type: 'timeseries', gridPos: { x: 0, y: 0, w: 24, h: 8 }, fieldConfig: { defaults: { unit: 's' }, overrides: [{ matcher: { id: 'byFrameRefID', options: 'B' }, properties: [{ id: 'unit', value: 'percentunit' }] }] }, targets: [{ refId: 'A', expr: 'a' }, { refId: 'B', expr: 'b' }] }] },
      GRID,
    ).panels[0]!;
    expect([unitOf(byRef, { refId: 'A', label: 'x' }), unitOf(byRef, { refId: 'B', label: 'x' })]).toEqual(['s', 'percentunit']);
    // An override the snapshot cannot apply is an error, not a silently different picture.
    expect(() =>
      pageModel({ panels: [{ id: 1, type: 'timeseries', title: 'T', gridPos: { x: 0, y: 0, w: 24, h: 8 }, fieldConfig: { overrides: [{ matcher: { id: 'byName', options: 'x' }, properties: [{ id: 'color', value: 'red' }] }] } }] }, GRID),
    ).toThrow(/panel "T": the snapshot cannot apply the override/);
  });

  it('orders panels top to bottom, left to right, and shows a collapsed row\'s panels below it', () => {
    const tops = model.panels.map((p) => p.gridPos.y * 100 + p.gridPos.x);
    expect(tops).toEqual([...tops].sort((a, b) => a - b));
    const collapsed = pageModel(
      {
        panels: [
          { id: 1, type: 'row', title: 'Hidden', collapsed: true, gridPos: { x: 0, y: 0, w: 24, h: 1 }, panels: [{ id: 2, type: 'timeseries', title: 'inside', gridPos: { x: 0, y: 1, w: 24, h: 8 }, targets: [{ refId: 'A', expr: 'up' }] }] },
        ],
      },
      GRID,
    );
    expect(collapsed.panels.map((p) => [p.id, p.kind, p.queries.length])).toEqual([
      [1, 'row', 0],
      [2, 'graph', 1],
    ]);
    expect(collapsed.panels[1]!.unit).toBe('short');
  });
});

describe('Grafana\'s interval variables', () => {
  it('uses the range over the points, never below the scrape interval, and a rate interval of at least four scrapes', () => {
    expect(queryIntervals(95, 800, 1)).toEqual({ stepSeconds: 1, rateIntervalSeconds: 4, rangeSeconds: 95 });
    expect(queryIntervals(6 * 3600, 800, 15)).toEqual({ stepSeconds: 27, rateIntervalSeconds: 60, rangeSeconds: 21600 });
    expect(queryIntervals(6 * 3600, 800, 5)).toEqual({ stepSeconds: 27, rateIntervalSeconds: 32, rangeSeconds: 21600 });
  });

  it('fills $__rate_interval, $__interval and $__range (the longer name first)', () => {
    const intervals = { stepSeconds: 2, rateIntervalSeconds: 8, rangeSeconds: 90 };
    expect(withIntervals('rate(x[$__rate_interval]) + rate(y[$__interval]) + increase(z[$__range])', intervals)).toBe('rate(x[8s]) + rate(y[2s]) + increase(z[90s])');
  });
});

describe('series from a range answer', () => {
  it('applies legendFormat label by label (missing labels empty), else prints the labels', () => {
    expect(legendOf('{{method}} {{route}}', { method: 'POST', route: '/v1/internal/credits/deduct' })).toBe('POST /v1/internal/credits/deduct');
    expect(legendOf('{{ status }} {{method}} {{route}}', { method: 'GET', route: '/x' })).toBe('GET /x');
    expect(legendOf('overdue {{subject}}', { subject: 'grant' })).toBe('overdue grant');
    expect(legendOf('holds open', {})).toBe('holds open');
    expect(legendOf(undefined, { __name__: 'up', job: 'api' })).toBe('up{job="api"}');
    expect(legendOf('__auto', { code: 'RATE_LIMITED' })).toBe('{code="RATE_LIMITED"}');
    expect(legendOf(undefined, {})).toBe('{}');
  });

  it('keeps NaN and infinities as gaps, computes the legend over finite values, and calls an all-NaN series no data', () => {
    const query = { refId: 'A', expr: 'x', legendFormat: '{{route}}' };
    const [quantile, empty] = toChartSeries(
      query,
      [
        { metric: { route: '/a' }, values: [[100, '0.5'], [101, 'NaN'], [102, '1.5'], [103, '+Inf']] },
        { metric: { route: '/b' }, values: [[100, 'NaN'], [101, 'NaN']] },
      ],
      ['mean', 'max'],
    );
    expect(quantile).toEqual({
      refId: 'A',
      label: '/a',
      points: [{ x: 100_000, y: 0.5 }, { x: 101_000, y: null }, { x: 102_000, y: 1.5 }, { x: 103_000, y: null }],
      calcs: { mean: 1, max: 1.5 },
    });
    expect(hasData(quantile!)).toBe(true);
    expect(empty!.calcs).toEqual({ mean: null, max: null });
    expect(hasData(empty!)).toBe(false);
    expect(() => toChartSeries(query, [], ['p95'])).not.toThrow(); // no series: nothing to reduce
    expect(() => toChartSeries(query, [{ metric: {}, values: [[1, '1']] }], ['p95'])).toThrow(/not supported/);
  });
});

describe('units', () => {
  it('formats values the way the panels\' units say', () => {
    expect(formatValue('s', 0.0123)).toBe('12.3 ms');
    expect(formatValue('s', 0.000045)).toBe('45 µs');
    expect(formatValue('s', 2.5)).toBe('2.5 s');
    expect(formatValue('s', 600)).toBe('10 min');
    expect(formatValue('percentunit', 0.995)).toBe('99.5%');
    expect(formatValue('percentunit', 1)).toBe('100%');
    expect(formatValue('reqps', 1500)).toBe('1.5k req/s');
    expect(formatValue('ops', 42.42)).toBe('42.4 ops/s');
    expect(formatValue('short', 2_500_000)).toBe('2.5M');
    expect(formatValue('short', 0)).toBe('0');
    expect(formatValue('reqps', 0)).toBe('0 req/s');
    expect(formatValue('short', null)).toBe('—');
  });

  it('picks one scale per axis from its largest value', () => {
    expect(axisScale('s', 0.25)).toEqual({ factor: 1000, suffix: ' ms' });
    expect(axisScale('s', 0)).toEqual({ factor: 1, suffix: ' s' });
    expect(axisScale('reqps', 12)).toEqual({ factor: 1, suffix: ' req/s' });
    expect(axisScale('short', 12_000)).toEqual({ factor: 1e-3, suffix: 'k' });
  });
});

describe('the page', () => {
  const model = pageModel(DASHBOARD, GRID);
  const graphs = model.panels.filter((p) => p.kind === 'graph');
  const context: PageContext = {
    feed: 'a test',
    command: 'npm run dashboard:snapshot',
    from: new Date('2026-01-01T00:00:00Z'),
    to: new Date('2026-01-01T00:01:30Z'),
    stepSeconds: 1,
    rateIntervalSeconds: 4,
    scrapeIntervalSeconds: 1,
    prometheusVersion: '2.42.0',
    machine: '2 CPUs',
  };
  const fed = graphs[0]!;
  const unfed = graphs[1]!;
  const data: PanelData[] = graphs.map((panel) => ({
    panelId: panel.id,
    series: panel === unfed ? [] : toChartSeries(panel.queries[0]!, [{ metric: { method: 'POST', route: '/v1/x', code: 'C', operation: 'deduct' }, values: [[1767225600, '3'], [1767225601, '4']] }], panel.legendCalcs),
    emptyQueries: panel === unfed ? ['A'] : panel.queries.slice(1).map((q) => q.refId),
    errors: [],
  }));
  const html = pageHtml(model, data, context, '/* chart.js */');

  it('says what it is: the dashboard JSON\'s panels rendered from Prometheus, not Grafana, and the command', () => {
    expect(html).toContain("deploy/grafana/durable-billing.json's panels rendered from Prometheus, not Grafana.");
    expect(html).toContain('<code>npm run dashboard:snapshot</code>');
    expect(html).toContain('1 of 19 panels without data');
  });

  it('shows a panel whose queries answered nothing as "No data", and every other one as a chart with its legend', () => {
    const panelDiv = (id: number) => new RegExp(`<div class="panel[^"]*" data-panel="${id}" style="([^"]*)">(.*?)</div></div>`).exec(html);
    expect(isEmpty(data.find((d) => d.panelId === unfed.id))).toBe(true);
    expect(panelDiv(unfed.id)![2]).toContain('<b>No data</b>');
    expect(panelDiv(unfed.id)![2]).not.toContain('<canvas');
    expect(panelDiv(fed.id)![2]).toContain(`<canvas id="chart-${fed.id}">`);
    expect(panelDiv(fed.id)![2]).toContain('POST /v1/x');
    expect(panelDiv(fed.id)![2]).toContain('<th>mean</th><th>max</th>');
    expect(panelDiv(fed.id)![2]).toContain('<td>3.5 req/s</td><td>4 req/s</td>');
    // Laid out by its box, below the banner.
    expect(panelDiv(fed.id)![1]).toBe(`left:${fed.box.left}px;top:${fed.box.top + BANNER_HEIGHT}px;width:${fed.box.width}px;height:${fed.box.height}px`);
    expect((html.match(/<canvas /g) ?? []).length).toBe(graphs.length - 1);
  });

  it('draws a series whose unit an override changes on a right-hand axis with its own scale', () => {
    const relayLag = graphs.find((p) => p.title === 'Relay lag')!;
    const values = (v: string): Array<[number, string]> => [[1767225600, v]];
    const spec = chartSpec(
      relayLag,
      {
        panelId: relayLag.id,
        series: [
          ...toChartSeries(relayLag.queries[0]!, [{ metric: {}, values: values('0.25') }], relayLag.legendCalcs),
          ...toChartSeries(relayLag.queries[1]!, [{ metric: {}, values: values('2000') }], relayLag.legendCalcs),
        ],
        emptyQueries: [],
        errors: [],
      },
      context,
    );
    expect(spec.axes).toEqual([
      { id: 'y', unit: 's', scale: { factor: 1000, suffix: ' ms' }, position: 'left' },
      { id: 'y1', unit: 'short', scale: { factor: 1e-3, suffix: 'k' }, position: 'right' },
    ]);
    expect(spec.datasets.map((d) => [d.label, d.axis])).toEqual([
      ['oldest waiting', 'y'],
      ['events waiting', 'y1'],
    ]);
  });

  it('names the queries of a drawn panel that answered nothing, and cuts a legend that does not fit', () => {
    const orders = graphs.find((p) => p.title === 'Orders per second')!;
    expect(html).toMatch(new RegExp(`data-panel="${orders.id}".*?no data: paid, refunded`));
    expect(legendRowsThatFit(fed)).toBeGreaterThan(3);
    const crowded: PanelData = {
      panelId: fed.id,
      series: Array.from({ length: 20 }, (_, i) => toChartSeries(fed.queries[0]!, [{ metric: { method: 'GET', route: `/r${i}` }, values: [[1, '1']] }], [])[0]!),
      emptyQueries: [],
      errors: [],
    };
    const page = pageHtml(model, [crowded], context, '');
    expect(page).toContain(`+ ${20 - legendRowsThatFit(fed) + 1} more series`);
  });
});
