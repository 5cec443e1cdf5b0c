/**
 * deploy/grafana/durable-billing.json without a Grafana: its shape is checked against Grafana's own
 * published dashboard types (@grafana/schema, with the time-series panel's options), compiled by
 * TypeScript as an object literal so that misspelt or misplaced keys are errors; every panel query
 * parses as PromQL (promtool checks them as recording rules, the way a rule file is checked); the layout
 * has no overlapping panels. That the queries read exported names is in tests/monitoring.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { stringify as toYaml } from 'yaml';
import { DASHBOARD_FILE, ROOT, dashboardQueries, describeWithPromtool, readDashboard, runPromtool, withGrafanaVariables } from '../support/monitoring';

const SCHEMA = '@grafana/schema/dist/types/raw';

/** A module whose one declaration types `literal` as a dashboard of the panels this project uses. */
function checkedSource(literal: string): string {
  return `
import type { Dashboard, DataSourceRef, FieldConfig, FieldConfigSource, Panel, RowPanel } from '${SCHEMA}/dashboard/x/types.gen';
import type { FieldConfig as TimeSeriesFieldConfig, Options as TimeSeriesOptions } from '${SCHEMA}/composable/timeseries/panelcfg/x/types.gen';

/** JSON spells enum members as their values. */
type Json<T> = T extends string ? \`\${T}\`
  : T extends number | boolean | null | undefined ? T
  : T extends ReadonlyArray<infer U> ? Array<Json<U>>
  : T extends object ? { [K in keyof T]: Json<T[K]> }
  : T;

/** The Prometheus data source's query (Grafana types a panel's targets only as records). */
interface PrometheusQuery {
  refId: string;
  expr: string;
  datasource?: DataSourceRef;
  legendFormat?: string;
  range?: boolean;
  instant?: boolean;
  editorMode?: 'code' | 'builder';
  interval?: string;
}

type TimeSeriesPanel = Omit<Panel, 'type' | 'options' | 'fieldConfig' | 'targets'> & {
  type: 'timeseries';
  options: TimeSeriesOptions;
  fieldConfig: { defaults: Omit<FieldConfig, 'custom'> & { custom?: TimeSeriesFieldConfig }; overrides: FieldConfigSource['overrides'] };
  targets: PrometheusQuery[];
};
type Row = Omit<RowPanel, 'panels'> & { panels: TimeSeriesPanel[] };

export const dashboard: Json<Omit<Dashboard, 'panels'> & { panels: Array<TimeSeriesPanel | Row> }> = ${literal};
`;
}

/** TypeScript's diagnostics of each virtual file (compiled together, so the types load once). */
function typeErrors(files: Record<string, string>): Record<string, string[]> {
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: [],
  };
  const paths = Object.fromEntries(Object.entries(files).map(([name, text]) => [path.join(ROOT, `${name}.ts`), text]));
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.fileExists = (file) => file in paths || ts.sys.fileExists(file);
  host.readFile = (file) => paths[file] ?? readFile(file);
  host.getSourceFile = (file, language) => (file in paths ? ts.createSourceFile(file, paths[file]!, language) : getSourceFile(file, language));
  const program = ts.createProgram(Object.keys(paths), options, host);
  return Object.fromEntries(
    Object.entries(paths).map(([file]) => [
      path.basename(file, '.ts'),
      ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    ]),
  );
}

it('is a dashboard by Grafana\'s published schema (@grafana/schema), and the check rejects a misplaced key', () => {
  const json = readFileSync(DASHBOARD_FILE, 'utf8');
  const broken = JSON.parse(json) as { panels: Array<{ type: string; options?: Record<string, unknown>; gridPos?: Record<string, unknown> }> };
  const panel = broken.panels.find((p) => p.type === 'timeseries')!;
  panel.gridPos = { ...panel.gridPos, w: '12' };
  panel.options = { ...panel.options, legend: { displayMode: 'tabel', placement: 'bottom', showLegend: true, calcs: [] } };
  const errors = typeErrors({ 'dashboard-check': checkedSource(json), 'dashboard-check-broken': checkedSource(JSON.stringify(broken)) });
  expect(errors['dashboard-check']).toEqual([]);
  expect(errors['dashboard-check-broken']!.join('\n')).toMatch(/'string' is not assignable to type 'number'[\s\S]*"tabel"/);
}, 60_000);

it('lays its panels out without overlap, with unique ids and a query on every graph', () => {
  const panels = readDashboard().panels as Array<{ id: number; type: string; gridPos: { x: number; y: number; w: number; h: number }; targets?: unknown[] }>;
  expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
  for (const [i, a] of panels.entries()) {
    expect(a.gridPos.x + a.gridPos.w).toBeLessThanOrEqual(24);
    if (a.type !== 'row') expect(a.targets?.length ?? 0).toBeGreaterThan(0);
    for (const b of panels.slice(i + 1)) {
      const overlap = a.gridPos.x < b.gridPos.x + b.gridPos.w && b.gridPos.x < a.gridPos.x + a.gridPos.w && a.gridPos.y < b.gridPos.y + b.gridPos.h && b.gridPos.y < a.gridPos.y + a.gridPos.h;
      expect({ a: a.id, b: b.id, overlap }).toEqual({ a: a.id, b: b.id, overlap: false });
    }
  }
});

describeWithPromtool('promtool', (promtool) => {
  it('parses every panel query as PromQL (each checked as a recording rule)', () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(20);
    const rules = {
      groups: [{ name: 'dashboard', rules: queries.map((q) => ({ record: `dashboard:panel_${q.panelId}:${q.refId}`, expr: withGrafanaVariables(q.expr) })) }],
    };
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'billing-dashboard-')), 'dashboard-queries.yml');
    writeFileSync(file, toYaml(rules));
    const { code, output } = runPromtool(promtool(), ['check', 'rules', file]);
    expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining(`SUCCESS: ${queries.length} rules found`) });

    // The same check refuses a query that is not PromQL.
    writeFileSync(file, toYaml({ groups: [{ name: 'dashboard', rules: [{ record: 'dashboard:broken', expr: 'sum(rate(http_request_duration_seconds_count[5m])' }] }] }));
    expect(runPromtool(promtool(), ['check', 'rules', file]).code).not.toBe(0);
    rmSync(path.dirname(file), { recursive: true, force: true });
  });
});
