/**
 * The Grafana dashboard (deploy/grafana/durable-billing.json) as a page model, without Grafana: each
 * panel's box from its gridPos (Grafana's grid: 24 columns, fixed row height, margins between cells), its
 * unit and axis minimum, and its queries with Grafana's interval variables filled in the way Grafana fills
 * them; then Prometheus' range answers turned into the panel's series (legendFormat applied, legend
 * calculations), and an axis scale per unit. Pure: `npm run dashboard:snapshot` feeds it real answers,
 * tests/unit/dashboard-snapshot.test.ts checks it on its own.
 */

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A box on the page, in CSS pixels. */
export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Grafana's grid geometry (its GRID_COLUMN_COUNT, GRID_CELL_HEIGHT, GRID_CELL_VMARGIN). */
export interface GridGeometry {
  /** Width of the whole grid, px. */
  width: number;
  columns: number;
  rowHeight: number;
  margin: number;
}

export const GRAFANA_GRID: Omit<GridGeometry, 'width'> = { columns: 24, rowHeight: 30, margin: 8 };

export interface PanelQuery {
  refId: string;
  /** The query as written in the dashboard. */
  expr: string;
  legendFormat?: string;
}

export interface PagePanel {
  id: number;
  kind: 'row' | 'graph';
  title: string;
  description?: string;
  gridPos: GridPos;
  box: Box;
  /** Grafana's unit id (reqps, s, percentunit, ops, short…). */
  unit: string;
  min?: number;
  max?: number;
  /** The legend's calculations (Grafana's reducer ids: mean, max, last…). */
  legendCalcs: string[];
  queries: PanelQuery[];
  /** Field overrides that change a series' unit (Grafana's byName and byFrameRefID matchers). */
  unitOverrides: UnitOverride[];
}

export interface UnitOverride {
  /** byName: the series' display name (its legend); byFrameRefID: its query's refId. */
  match: { by: 'name' | 'refId'; value: string };
  unit: string;
}

export interface PageModel {
  title: string;
  description?: string;
  width: number;
  height: number;
  panels: PagePanel[];
}

interface DashboardJson {
  title?: string;
  description?: string;
  panels?: PanelJson[];
}

interface PanelJson {
  id: number;
  type: string;
  title?: string;
  description?: string;
  collapsed?: boolean;
  gridPos: GridPos;
  panels?: PanelJson[];
  fieldConfig?: {
    defaults?: { unit?: string; min?: number; max?: number };
    overrides?: Array<{ matcher: { id: string; options?: unknown }; properties: Array<{ id: string; value?: unknown }> }>;
  };
  options?: { legend?: { calcs?: string[]; showLegend?: boolean } };
  targets?: Array<{ refId: string; expr?: string; legendFormat?: string; hide?: boolean }>;
}

/**
 * A cell's box the way Grafana's grid places it: column width from the grid width less the margins
 * between columns; a panel h cells high spans h row heights and the h-1 margins inside it.
 */
export function boxOf(gridPos: GridPos, geometry: GridGeometry): Box {
  const { columns, rowHeight, margin, width } = geometry;
  const columnWidth = (width - margin * (columns - 1)) / columns;
  return {
    left: Math.round(gridPos.x * (columnWidth + margin)),
    top: gridPos.y * (rowHeight + margin),
    width: Math.round(gridPos.w * columnWidth + Math.max(0, gridPos.w - 1) * margin),
    height: gridPos.h * rowHeight + Math.max(0, gridPos.h - 1) * margin,
  };
}

/**
 * Every panel of the dashboard, in page order (top to bottom, left to right): rows as section headers,
 * and the panels of a collapsed row as Grafana shows them once expanded (below the row).
 */
export function pageModel(dashboard: DashboardJson, geometry: GridGeometry): PageModel {
  const flat: PanelJson[] = [];
  for (const panel of dashboard.panels ?? []) {
    flat.push(panel);
    if (panel.type === 'row' && panel.collapsed) flat.push(...(panel.panels ?? []));
  }
  const panels = flat
    .map((panel): PagePanel => {
      const defaults = panel.fieldConfig?.defaults ?? {};
      return {
        id: panel.id,
        kind: panel.type === 'row' ? 'row' : 'graph',
        title: panel.title ?? '',
        ...(panel.description ? { description: panel.description } : {}),
        gridPos: panel.gridPos,
        box: boxOf(panel.gridPos, geometry),
        unit: defaults.unit ?? 'short',
        ...(defaults.min !== undefined ? { min: defaults.min } : {}),
        ...(defaults.max !== undefined ? { max: defaults.max } : {}),
        legendCalcs: panel.options?.legend?.showLegend === false ? [] : (panel.options?.legend?.calcs ?? []),
        queries: (panel.targets ?? [])
          .filter((target) => !target.hide && target.expr)
          .map((target) => ({
            refId: target.refId,
            expr: target.expr!,
            ...(target.legendFormat !== undefined ? { legendFormat: target.legendFormat } : {}),
          })),
        unitOverrides: unitOverrides(panel),
      };
    })
    .sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
  const height = Math.max(0, ...panels.map((panel) => panel.box.top + panel.box.height));
  return {
    title: dashboard.title ?? '',
    ...(dashboard.description ? { description: dashboard.description } : {}),
    width: geometry.width,
    height,
    panels,
  };
}

const MATCHERS: Record<string, UnitOverride['match']['by']> = { byName: 'name', byFrameRefID: 'refId' };

/** The panel's overrides that set a unit; one the snapshot cannot apply is an error, not a silent difference. */
function unitOverrides(panel: PanelJson): UnitOverride[] {
  return (panel.fieldConfig?.overrides ?? []).flatMap((override) => {
    const by = MATCHERS[override.matcher.id];
    const unsupported = override.properties.filter((property) => property.id !== 'unit');
    if (!by || typeof override.matcher.options !== 'string' || unsupported.length > 0) {
      throw new Error(`panel "${panel.title}": the snapshot cannot apply the override ${JSON.stringify(override)} (it applies unit overrides matched byName or byFrameRefID)`);
    }
    const match = { by, value: override.matcher.options };
    return override.properties.map((property) => ({ match, unit: String(property.value) }));
  });
}

/** A series' unit: the last override that matches it (as Grafana applies them in order), else the panel's. */
export function unitOf(panel: Pick<PagePanel, 'unit' | 'unitOverrides'>, series: { refId: string; label: string }): string {
  let unit = panel.unit;
  for (const override of panel.unitOverrides) {
    if ((override.match.by === 'name' ? series.label : series.refId) === override.match.value) unit = override.unit;
  }
  return unit;
}

// ---- Grafana's interval variables ------------------------------------------------------------------

export interface QueryIntervals {
  /** query_range step and $__interval, s. */
  stepSeconds: number;
  /** $__rate_interval, s. */
  rateIntervalSeconds: number;
  /** $__range, s. */
  rangeSeconds: number;
}

/**
 * What Grafana would use for a time range drawn `maxDataPoints` points wide: $__interval is the range over
 * the points, never below the data source's scrape interval (its minimum interval), in whole seconds; and
 * $__rate_interval = max($__interval + scrape interval, 4 × scrape interval), so a rate always spans at
 * least four scrapes.
 */
export function queryIntervals(rangeSeconds: number, maxDataPoints: number, scrapeIntervalSeconds: number): QueryIntervals {
  const stepSeconds = Math.max(scrapeIntervalSeconds, Math.ceil(rangeSeconds / Math.max(1, maxDataPoints)));
  return {
    stepSeconds,
    rateIntervalSeconds: Math.max(stepSeconds + scrapeIntervalSeconds, 4 * scrapeIntervalSeconds),
    rangeSeconds: Math.ceil(rangeSeconds),
  };
}

/** The query Prometheus is sent: Grafana's variables replaced by their values. */
export function withIntervals(expr: string, intervals: QueryIntervals): string {
  return expr
    .replaceAll('$__rate_interval', `${intervals.rateIntervalSeconds}s`)
    .replaceAll('$__interval', `${intervals.stepSeconds}s`)
    .replaceAll('$__range', `${intervals.rangeSeconds}s`);
}

// ---- series ---------------------------------------------------------------------------------------

/** One series of a Prometheus range answer (`data.result[i]` of resultType "matrix"). */
export interface MatrixSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

export interface ChartSeries {
  refId: string;
  label: string;
  /** x: ms since the epoch; y: null where Prometheus has NaN or ±Inf (a gap, as Grafana draws it). */
  points: Array<{ x: number; y: number | null }>;
  /** The legend's calculations over the finite values, by reducer id. */
  calcs: Record<string, number | null>;
}

/**
 * A series' legend: Grafana's legendFormat with each {{label}} replaced by the label's value (empty when the
 * series lacks it); without a format (or "__auto"), the series' labels as Prometheus prints them.
 */
export function legendOf(legendFormat: string | undefined, metric: Record<string, string>): string {
  if (legendFormat && legendFormat !== '__auto') {
    return legendFormat.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, name: string) => metric[name] ?? '').trim();
  }
  const { __name__: name, ...labels } = metric;
  const inner = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .join(', ');
  return `${name ?? ''}${inner ? `{${inner}}` : ''}` || '{}';
}

/** Grafana's reducers the dashboard uses. */
export function reduce(calc: string, values: number[]): number | null {
  if (values.length === 0) return null;
  switch (calc) {
    case 'mean':
      return values.reduce((sum, value) => sum + value, 0) / values.length;
    case 'max':
      return Math.max(...values);
    case 'min':
      return Math.min(...values);
    case 'last':
    case 'lastNotNull':
      return values[values.length - 1]!;
    case 'sum':
      return values.reduce((sum, value) => sum + value, 0);
    default:
      throw new Error(`legend calculation "${calc}" is not supported by the snapshot`);
  }
}

export function toChartSeries(query: PanelQuery, result: MatrixSeries[], calcs: string[]): ChartSeries[] {
  return result.map((series) => {
    const points = series.values.map(([seconds, raw]) => {
      const value = Number(raw);
      return { x: Math.round(seconds * 1000), y: Number.isFinite(value) ? value : null };
    });
    const finite = points.flatMap((point) => (point.y === null ? [] : [point.y]));
    return {
      refId: query.refId,
      label: legendOf(query.legendFormat, series.metric),
      points,
      calcs: Object.fromEntries(calcs.map((calc) => [calc, reduce(calc, finite)])),
    };
  });
}

/** A series that has at least one finite value: something Grafana would draw. */
export function hasData(series: ChartSeries): boolean {
  return series.points.some((point) => point.y !== null);
}

// ---- units ----------------------------------------------------------------------------------------

/** How an axis shows its values: value × factor, then the suffix. */
export interface AxisScale {
  factor: number;
  suffix: string;
}

const SI_STEPS: Array<[number, string]> = [
  [1e9, 'B'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/**
 * One scale per axis from the largest value it shows, as Grafana's unit formats choose one: seconds
 * as µs, ms, s or min; a ratio (percentunit) as %; counts and rates with k/M/B steps and their unit.
 */
export function axisScale(unit: string, maxAbs: number): AxisScale {
  const si = (suffix: string): AxisScale => {
    const step = SI_STEPS.find(([size]) => maxAbs >= size);
    return step ? { factor: 1 / step[0], suffix: `${step[1]}${suffix}` } : { factor: 1, suffix };
  };
  switch (unit) {
    case 's':
      if (maxAbs >= 120) return { factor: 1 / 60, suffix: ' min' };
      if (maxAbs >= 1 || maxAbs === 0) return { factor: 1, suffix: ' s' };
      if (maxAbs >= 1e-3) return { factor: 1e3, suffix: ' ms' };
      return { factor: 1e6, suffix: ' µs' };
    case 'ms':
      return maxAbs >= 1000 ? { factor: 1e-3, suffix: ' s' } : { factor: 1, suffix: ' ms' };
    case 'percentunit':
      return { factor: 100, suffix: '%' };
    case 'percent':
      return { factor: 1, suffix: '%' };
    case 'reqps':
      return si(' req/s');
    case 'ops':
      return si(' ops/s');
    case 'short':
    case 'none':
      return si('');
    default:
      return si(` ${unit}`);
  }
}

/** A value on a scale with at most three significant digits (and no needless zeros); zero without an SI prefix. */
export function formatScaled(value: number, scale: AxisScale): string {
  const scaled = value * scale.factor;
  if (scaled === 0) return `0${scale.suffix.replace(/^[kMB]/, '')}`;
  const text = Math.abs(scaled) >= 100 ? scaled.toFixed(0) : String(Number(scaled.toPrecision(3)));
  return `${text}${scale.suffix}`;
}

/** A single value in its unit (legend table cells). */
export function formatValue(unit: string, value: number | null): string {
  if (value === null) return '—';
  return formatScaled(value, axisScale(unit, Math.abs(value)));
}
