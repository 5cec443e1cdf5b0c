/**
 * The static page of the dashboard snapshot: every panel of the page model in its gridPos box, time series
 * drawn with Chart.js (the console's charting library), a Grafana-like table legend with the panel's
 * calculations, and "No data" on a panel none of whose queries returned a value. A banner says what the page
 * is: the dashboard JSON's panels rendered from Prometheus, not Grafana.
 */
import { axisScale, formatValue, hasData, unitOf, type AxisScale, type ChartSeries, type PageModel, type PagePanel } from './model';

/** Grafana's classic palette, in its order. */
export const PALETTE = ['#73bf69', '#f2cc0c', '#8ab8ff', '#ff780a', '#f2495c', '#5794f2', '#b877d9', '#705da0', '#37872d', '#fade2a'];

export interface PanelData {
  panelId: number;
  series: ChartSeries[];
  /** refIds whose query answered no series with a finite value. */
  emptyQueries: string[];
  /** Queries Prometheus refused (refId: message). */
  errors: string[];
}

export interface PageContext {
  /** What fed the data, for the banner (e.g. the load's phases). */
  feed: string;
  /** The command that made the page. */
  command: string;
  from: Date;
  to: Date;
  /** query_range step and $__rate_interval, s. */
  stepSeconds: number;
  rateIntervalSeconds: number;
  scrapeIntervalSeconds: number;
  prometheusVersion: string;
  /** The machine during the load (CPUs, load average): latencies and lags depend on what else ran. */
  machine: string;
}

/** Height of the banner above the grid, px. */
export const BANNER_HEIGHT = 80;
const TITLE_HEIGHT = 26;
const LEGEND_ROW_HEIGHT = 15;
/** The chart keeps at least this much of a panel's height; the legend gets the rest. */
const MIN_CHART_HEIGHT = 130;

/** A panel with no drawable value in any of its queries: shown as "No data". */
export function isEmpty(data: PanelData | undefined): boolean {
  return !data || !data.series.some(hasData);
}

/** A y axis: the panel's unit on the left; a unit an override gives some series on the right. */
export interface AxisSpec {
  id: string;
  unit: string;
  scale: AxisScale;
  position: 'left' | 'right';
}

/** What the browser needs to draw one graph panel. */
export interface ChartSpec {
  panelId: number;
  axes: AxisSpec[];
  min?: number;
  max?: number;
  from: number;
  to: number;
  datasets: Array<{ label: string; color: string; axis: string; points: Array<{ x: number; y: number | null }> }>;
}

/** The legend rows that fit under a chart of at least MIN_CHART_HEIGHT in a panel's body. */
export function legendRowsThatFit(panel: PagePanel): number {
  const body = panel.box.height - TITLE_HEIGHT - 8;
  return Math.max(1, Math.floor((body - MIN_CHART_HEIGHT - LEGEND_ROW_HEIGHT) / LEGEND_ROW_HEIGHT));
}

export function chartSpec(panel: PagePanel, data: PanelData, context: PageContext): ChartSpec {
  const drawn = data.series.filter(hasData);
  const units = [panel.unit, ...new Set(drawn.map((series) => unitOf(panel, series)).filter((unit) => unit !== panel.unit))];
  if (units.length > 2) throw new Error(`panel "${panel.title}": series in ${units.join(', ')}; the snapshot draws at most two units (two y axes)`);
  const axisId = (unit: string) => (unit === panel.unit ? 'y' : 'y1');
  const axes = units.map((unit): AxisSpec => {
    const values = drawn.filter((series) => unitOf(panel, series) === unit).flatMap((series) => series.points.map((point) => Math.abs(point.y ?? 0)));
    const maxAbs = Math.max(0, ...values, unit === panel.unit ? (panel.max ?? 0) : 0);
    return { id: axisId(unit), unit, scale: axisScale(unit, maxAbs), position: unit === panel.unit ? 'left' : 'right' };
  });
  return {
    panelId: panel.id,
    axes,
    ...(panel.min !== undefined ? { min: panel.min } : {}),
    ...(panel.max !== undefined ? { max: panel.max } : {}),
    from: context.from.getTime(),
    to: context.to.getTime(),
    datasets: drawn.map((series, index) => ({
      label: series.label,
      color: PALETTE[index % PALETTE.length]!,
      axis: axisId(unitOf(panel, series)),
      points: series.points,
    })),
  };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function legendHtml(panel: PagePanel, data: PanelData): string {
  const drawn = data.series.filter(hasData);
  const rows = legendRowsThatFit(panel);
  const shown = drawn.length > rows ? drawn.slice(0, rows - 1) : drawn;
  const head = `<tr><th></th>${panel.legendCalcs.map((calc) => `<th>${escapeHtml(calc)}</th>`).join('')}</tr>`;
  const body = shown
    .map(
      (series, index) =>
        `<tr><td class="name"><i style="background:${PALETTE[index % PALETTE.length]}"></i>${escapeHtml(series.label || ' ')}</td>` +
        panel.legendCalcs.map((calc) => `<td>${escapeHtml(formatValue(unitOf(panel, series), series.calcs[calc] ?? null))}</td>`).join('') +
        `</tr>`,
    )
    .join('');
  const more = drawn.length > shown.length ? `<tr><td class="more" colspan="${panel.legendCalcs.length + 1}">+ ${drawn.length - shown.length} more series</td></tr>` : '';
  const missing = data.emptyQueries.length > 0 && drawn.length > 0
    ? `<tr><td class="more" colspan="${panel.legendCalcs.length + 1}">no data: ${escapeHtml(data.emptyQueries.map((refId) => labelOfQuery(panel, refId)).join(', '))}</td></tr>`
    : '';
  return `<table class="legend">${head}${body}${more}${missing}</table>`;
}

/** A query as the page names it: its legendFormat, else its refId. */
function labelOfQuery(panel: PagePanel, refId: string): string {
  const query = panel.queries.find((q) => q.refId === refId);
  return query?.legendFormat && !query.legendFormat.includes('{{') ? query.legendFormat : refId;
}

function panelHtml(panel: PagePanel, data: PanelData | undefined, banner: number): string {
  const { left, top, width, height } = panel.box;
  const style = `left:${left}px;top:${top + banner}px;width:${width}px;height:${height}px`;
  if (panel.kind === 'row') return `<div class="row" style="${style}">${escapeHtml(panel.title)}</div>`;
  const title = `<div class="title">${escapeHtml(panel.title)}</div>`;
  if (!data || isEmpty(data)) {
    const why = data?.errors.length ? data.errors.map(escapeHtml).join('<br>') : 'every query answered no series';
    return `<div class="panel nodata" data-panel="${panel.id}" style="${style}">${title}<div class="empty"><b>No data</b><span>${why}</span></div></div>`;
  }
  return (
    `<div class="panel" data-panel="${panel.id}" style="${style}">${title}` +
    `<div class="body"><div class="chart"><canvas id="chart-${panel.id}"></canvas></div>${legendHtml(panel, data)}</div></div>`
  );
}

const iso = (date: Date) => date.toISOString().replace(/\.\d+Z$/, 'Z');

/** The page: banner, panels, and the script that draws the charts (Chart.js inlined: the page is one file). */
export function pageHtml(model: PageModel, data: PanelData[], context: PageContext, chartJsSource: string): string {
  const byId = new Map(data.map((d) => [d.panelId, d]));
  const specs = model.panels
    .filter((panel) => panel.kind === 'graph' && !isEmpty(byId.get(panel.id)))
    .map((panel) => chartSpec(panel, byId.get(panel.id)!, context));
  const empty = model.panels.filter((panel) => panel.kind === 'graph' && isEmpty(byId.get(panel.id)));
  const banner =
    `<div class="banner"><b>${escapeHtml(model.title)}: deploy/grafana/durable-billing.json's panels rendered from Prometheus, not Grafana.</b> ` +
    `Each panel's queries evaluated with Prometheus ${escapeHtml(context.prometheusVersion)}'s query_range from ${iso(context.from)} to ${iso(context.to)} ` +
    `(step ${context.stepSeconds} s, $__rate_interval ${context.rateIntervalSeconds} s, scrapes every ${context.scrapeIntervalSeconds} s), laid out by gridPos, drawn with Chart.js. ` +
    `Fed by ${escapeHtml(context.feed)}, on ${escapeHtml(context.machine)}. ${empty.length} of ${model.panels.filter((p) => p.kind === 'graph').length} panels without data. ` +
    `Made by <code>${escapeHtml(context.command)}</code>.</div>`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(model.title)} — snapshot from Prometheus</title>
<style>
  * { box-sizing: border-box; }
  body { margin: 0; background: #111217; color: #ccccdc; font: 12px/1.3 "Liberation Sans", Arial, sans-serif; }
  #grid { position: relative; width: ${model.width + 16}px; height: ${model.height + BANNER_HEIGHT + 16}px; padding: 0 8px; }
  .banner { position: absolute; left: 8px; top: 8px; width: ${model.width}px; height: ${BANNER_HEIGHT - 16}px; padding: 6px 10px;
            background: #22252b; border-left: 4px solid #f2cc0c; border-radius: 2px; font-size: 12px; overflow: hidden; }
  .banner b { color: #fff; }
  code { font-family: "Liberation Mono", monospace; color: #fade2a; }
  .row { position: absolute; margin-left: 8px; font-size: 15px; font-weight: bold; color: #fff; padding-top: 6px; border-bottom: 1px solid #2c3235; }
  .panel { position: absolute; margin-left: 8px; background: #181b1f; border: 1px solid #2c3235; border-radius: 2px; display: flex; flex-direction: column; }
  .title { height: ${TITLE_HEIGHT}px; padding: 6px 8px 0; font-weight: bold; color: #fff; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .body { flex: 1; display: flex; flex-direction: column; padding: 0 8px 6px; min-height: 0; }
  .chart { flex: 1; position: relative; min-height: ${MIN_CHART_HEIGHT}px; }
  .legend { border-collapse: collapse; width: 100%; font-size: 11px; table-layout: fixed; }
  .legend th { text-align: right; color: #8e8e9b; font-weight: normal; width: 70px; }
  .legend th:first-child { width: auto; }
  .legend td { text-align: right; height: ${LEGEND_ROW_HEIGHT}px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .legend td.name { text-align: left; }
  .legend td.more { text-align: left; color: #8e8e9b; }
  .legend i { display: inline-block; width: 12px; height: 4px; margin: 0 6px 2px 0; vertical-align: middle; }
  .empty { flex: 1; display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 4px; }
  .empty b { font-size: 18px; color: #ff7383; }
  .empty span { color: #8e8e9b; max-width: 90%; text-align: center; }
  .nodata { border-color: #7a2a33; }
</style></head>
<body><div id="grid">${banner}${model.panels.map((panel) => panelHtml(panel, byId.get(panel.id), BANNER_HEIGHT)).join('')}</div>
<script>${chartJsSource}</script>
<script>
const SPECS = ${JSON.stringify(specs).replace(/</g, '\\u003c')};
const pad = (n) => String(n).padStart(2, '0');
const clock = (ms) => { const d = new Date(ms); return pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds()); };
// formatScaled of scripts/dashboard/model.ts, for the axis ticks Chart.js chooses.
const scaled = (value, scale) => {
  const v = value * scale.factor;
  if (v === 0) return '0' + scale.suffix.replace(/^[kMB]/, '');
  return (Math.abs(v) >= 100 ? v.toFixed(0) : String(Number(v.toPrecision(3)))) + scale.suffix;
};
Chart.defaults.color = '#8e8e9b';
Chart.defaults.font.family = '"Liberation Sans", Arial, sans-serif';
Chart.defaults.font.size = 10;
for (const spec of SPECS) {
  new Chart(document.getElementById('chart-' + spec.panelId), {
    type: 'line',
    data: { datasets: spec.datasets.map((d) => ({ label: d.label, data: d.points, yAxisID: d.axis, borderColor: d.color, backgroundColor: d.color + '22',
      borderWidth: 1.5, pointRadius: 0, spanGaps: false, fill: false, tension: 0 })) },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, parsing: false, normalized: true,
      plugins: { legend: { display: false }, tooltip: { enabled: false } },
      scales: {
        x: { type: 'linear', min: spec.from, max: spec.to, grid: { color: '#22252b' }, ticks: { maxTicksLimit: 7, maxRotation: 0, callback: (v) => clock(v) } },
        ...Object.fromEntries(spec.axes.map((axis) => [axis.id, {
          position: axis.position, ...(spec.min !== undefined ? { min: spec.min } : {}), ...(spec.max !== undefined ? { max: spec.max } : {}), grace: '5%',
          grid: { color: '#22252b', drawOnChartArea: axis.position === 'left' }, ticks: { maxTicksLimit: 5, callback: (v) => scaled(v, axis.scale) } }])),
      },
    },
  });
}
document.body.dataset.drawn = String(SPECS.length);
</script></body></html>
`;
}
