/**
 * What the bench prints: timestamped progress lines, tables, and the target lines a script can read,
 * `target <n> <name>: <value> (goal >= <x>) met|missed`.
 */
import { performance } from 'node:perf_hooks';
import type { LoadResult } from './load';

const started = performance.now();

export function log(line: string): void {
  process.stdout.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);
}

export function elapsedSeconds(): number {
  return round((performance.now() - started) / 1000, 1);
}

export function write(text: string): void {
  process.stdout.write(text);
}

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
export const fmt = (value: number | undefined, digits = 1) => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits));
export const mib = (kib: number) => kib / 1024;
export const pct = (share: number) => `${(share * 100).toFixed(0)}%`;

export function printTable(headers: string[], rows: Array<Array<string | number>>): void {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) =>
    row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  write(`  ${line(cells[0]!)}\n  ${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of cells.slice(1)) write(`  ${line(row)}\n`);
}

export function loadRow(label: string, result: LoadResult, extra: string[] = []): string[] {
  return [label, String(result.concurrency), fmt(result.perSecond), fmt(result.p50, 2), fmt(result.p99, 2), String(result.count), String(result.errors), ...extra];
}

export function reportErrors(label: string, result: LoadResult): void {
  if (result.firstError) write(`  ! ${label}: ${result.errors} errors in the window; first: ${result.firstError.slice(0, 300)}\n`);
}

/** One of the performance targets (docs/performance.md), measured in this run. */
export interface Target {
  /**
   * The target's number (several lines may share one: a ratio and its latency bound), or a letter
   * for a target outside docs/performance.md's numbered list (G: gRPC over HTTP).
   */
  number: number | string;
  /** Short kebab-case name, stable for scripts. */
  name: string;
  value: number;
  comparison: '>=' | '<=';
  goal: number;
  /** Decimals of the printed value. */
  digits?: number;
  /** What the value is, for people (not part of the machine-readable line). */
  meaning: string;
}

export const targetMet = (target: Target) =>
  Number.isFinite(target.value) && (target.comparison === '>=' ? target.value >= target.goal : target.value <= target.goal);

/** `target 2 api-deduct: 0.131 (goal >= 0.125) met` */
export function targetLine(target: Target): string {
  return `target ${target.number} ${target.name}: ${fmt(target.value, target.digits ?? 3)} (goal ${target.comparison} ${target.goal}) ${targetMet(target) ? 'met' : 'missed'}`;
}
