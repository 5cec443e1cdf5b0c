/**
 * The Prometheus rules in deploy/prometheus are real files, checked and unit-tested by promtool: they
 * load, every alert fires on the series its test says should fire it and stays quiet on the others, and
 * each has a runbook entry in docs/operations.md. That the names they read are exported is checked
 * against a live scrape in tests/monitoring.test.ts.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import {
  ROOT,
  RULE_FILES,
  alertCases,
  allRules,
  describeWithPromtool,
  readRuleFile,
  ruleTestFiles,
  runPromtool,
} from '../support/monitoring';

const alerts = allRules().filter((rule) => rule.alert);
const alertNames = alerts.map((rule) => rule.alert!);

it('has the alerts the runbook describes, each with a severity and a runbook link', () => {
  expect(alertNames.length).toBeGreaterThanOrEqual(18);
  expect(new Set(alertNames).size).toBe(alertNames.length);
  const operations = readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
  for (const rule of alerts) {
    expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({ alert: rule.alert, severity: expect.stringMatching(/^(page|ticket)$/) });
    expect({ alert: rule.alert, runbook: rule.annotations?.runbook }).toEqual({ alert: rule.alert, runbook: `docs/operations.md#${rule.alert!.toLowerCase()}` });
    // The anchor GitHub makes of the heading "#### BillingX" is "#billingx".
    expect(operations).toMatch(new RegExp(`^#### ${rule.alert}$`, 'm'));
  }
});

it('has, for every alert, a unit test case where it fires and one where it stays quiet', () => {
  const cases = alertCases();
  for (const name of alertNames) {
    expect({ name, fires: cases.some((c) => c.alertname === name && c.fires) }).toEqual({ name, fires: true });
    expect({ name, quiet: cases.some((c) => c.alertname === name && !c.fires) }).toEqual({ name, quiet: true });
  }
  // No test names an alert that does not exist (a renamed alert would leave its tests checking nothing).
  expect(cases.map((c) => c.alertname).filter((name) => !alertNames.includes(name))).toEqual([]);
});

describeWithPromtool('promtool', (promtool) => {
  it('loads the rule files (promtool check rules)', () => {
    const { code, output } = runPromtool(promtool(), ['check', 'rules', ...RULE_FILES]);
    expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining('SUCCESS') });
  });

  it('passes the unit tests of every alert (promtool test rules)', () => {
    const { code, output } = runPromtool(promtool(), ['test', 'rules', ...ruleTestFiles()]);
    expect({ code, output }).toEqual({ code: 0, output: expect.not.stringContaining('FAILED') });
  });

  /** The unit tests run against a copy of the rules whose alert expressions are all replaced. */
  function testWithAlertExpressions(expr: string): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'billing-rules-'));
    const alertFile = RULE_FILES.find((file) => file.endsWith('alert-rules.yml'))!;
    for (const file of RULE_FILES) copyFileSync(file, path.join(dir, path.basename(file)));
    const changed = readRuleFile(alertFile);
    for (const group of changed.groups) for (const rule of group.rules) rule.expr = expr;
    writeFileSync(path.join(dir, path.basename(alertFile)), toYaml(changed));
    mkdirSync(path.join(dir, 'tests'));
    for (const file of ruleTestFiles()) copyFileSync(file, path.join(dir, 'tests', path.basename(file)));
    const { code, output } = runPromtool(promtool(), ['test', 'rules', ...ruleTestFiles().map((file) => path.join(dir, 'tests', path.basename(file)))]);
    rmSync(dir, { recursive: true, force: true });
    expect(code).not.toBe(0);
    return output;
  }

  it('would catch an alert that never fires: each one has a case expecting it to', () => {
    const output = testWithAlertExpressions('vector(1) == 0');
    for (const name of alertNames) expect(output).toContain(`alertname: ${name},`);
  });

  it('would catch an alert that always fires: each one has a case expecting quiet or other labels', () => {
    const output = testWithAlertExpressions('vector(1)');
    for (const name of alertNames) expect(output).toContain(`alertname: ${name},`);
  });
});
