/**
 * The monitoring files as data, for the tests that check them: the Prometheus rules and their unit tests
 * (deploy/prometheus), the Grafana dashboard's queries (deploy/grafana), the metric names a PromQL
 * expression reads (parsed with Prometheus' own Lezer grammar), and promtool.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import { findDebianTool } from '../../scripts/services/debian-tools';

export const ROOT = path.join(__dirname, '..', '..');
export const PROMETHEUS_DIR = path.join(ROOT, 'deploy', 'prometheus');
export const RULE_FILES = ['recording-rules.yml', 'alert-rules.yml'].map((name) => path.join(PROMETHEUS_DIR, name));
export const RULE_TEST_DIR = path.join(PROMETHEUS_DIR, 'tests');
export const DASHBOARD_FILE = path.join(ROOT, 'deploy', 'grafana', 'durable-billing.json');

// ---- promtool -------------------------------------------------------------------------------------

/** promtool (Debian package `prometheus`, installed by `npm run setup`): PROMTOOL, else PATH. */
export function findPromtool(): string | undefined {
  return process.env.PROMTOOL ?? findDebianTool('promtool');
}

/**
 * `describe` when promtool is there or this is CI (where its absence must fail, loudly, in beforeAll);
 * `describe.skip` on a developer's machine without it.
 */
export function describeWithPromtool(name: string, body: (promtool: () => string) => void): void {
  const found = findPromtool();
  const block = found || process.env.CI ? describe : describe.skip;
  block(name, () => {
    beforeAll(() => {
      if (!found) throw new Error('promtool not found: `npm run setup` installs it (Debian package `prometheus`), or set PROMTOOL to its path.');
    });
    body(() => found!);
  });
}

export function runPromtool(promtool: string, args: string[], cwd = ROOT): { code: number; output: string } {
  const result = spawnSync(promtool, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status ?? -1, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

// ---- rules ----------------------------------------------------------------------------------------

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}

export function readRuleFile(file: string): RuleFile {
  return parseYaml(readFileSync(file, 'utf8')) as RuleFile;
}

export function allRules(): Rule[] {
  return RULE_FILES.flatMap((file) => readRuleFile(file).groups.flatMap((group) => group.rules));
}

export function ruleTestFiles(): string[] {
  return readdirSync(RULE_TEST_DIR)
    .filter((name) => name.endsWith('.test.yml'))
    .map((name) => path.join(RULE_TEST_DIR, name));
}

export interface AlertCase {
  alertname: string;
  fires: boolean;
}

/** Every `alert_rule_test` case of the unit tests: which alert, and whether it expects it to fire. */
export function alertCases(): AlertCase[] {
  return ruleTestFiles().flatMap((file) => {
    const tests = (parseYaml(readFileSync(file, 'utf8')) as { tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }> }).tests;
    return tests.flatMap((test) => (test.alert_rule_test ?? []).map((c) => ({ alertname: c.alertname, fires: (c.exp_alerts ?? []).length > 0 })));
  });
}

// ---- dashboard ------------------------------------------------------------------------------------

export interface DashboardQuery {
  panelId: number;
  panelTitle: string;
  refId: string;
  expr: string;
}

interface PanelJson {
  id: number;
  type: string;
  title?: string;
  panels?: PanelJson[];
  targets?: Array<{ refId: string; expr?: string }>;
}

export function readDashboard(): { panels: PanelJson[] } & Record<string, unknown> {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { panels: PanelJson[] } & Record<string, unknown>;
}

/** Every panel query (rows' collapsed panels included). */
export function dashboardQueries(): DashboardQuery[] {
  const panels = readDashboard().panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  return panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ panelId: panel.id, panelTitle: panel.title ?? '', refId: target.refId, expr: target.expr ?? '' })),
  );
}

/** Grafana's interval variables as Prometheus would see them once Grafana has filled them in. */
export function withGrafanaVariables(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m').replaceAll('$__range', '1h');
}

// ---- PromQL ---------------------------------------------------------------------------------------

/** The metric names an expression selects (each vector selector's name), from Prometheus' PromQL grammar. */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  const tree = parser.parse(expr);
  const cursor = tree.cursor();
  do {
    if (cursor.type.isError) throw new Error(`PromQL does not parse at ${cursor.from}: ${expr}`);
    if (cursor.name === 'VectorSelector') {
      const child = cursor.node.getChild('Identifier');
      if (child) names.add(expr.slice(child.from, child.to));
    }
  } while (cursor.next());
  return [...names];
}
