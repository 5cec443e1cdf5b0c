/**
 * A scenario is one file in scripts/bench/scenarios/ that exports `scenario`: adding a file adds a scenario
 * (`npm run bench` runs all, in `order`; `npm run bench -- <name>` runs one).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Bench } from './context';
import { UsageError } from './settings';

export interface Scenario {
  /** The name on the command line. */
  name: string;
  /** Position when several run (lower first); a scenario that reports on the others' load goes last. */
  order: number;
  /** One line for `npm run bench -- --list`. */
  description: string;
  run(bench: Bench): Promise<void>;
  /** Left out of the default set (it takes long): runs only when named on the command line. */
  onlyWhenNamed?: boolean;
}

const SCENARIOS_DIR = path.join(__dirname, 'scenarios');

export function loadScenarios(dir = SCENARIOS_DIR): Scenario[] {
  const scenarios = fs
    .readdirSync(dir)
    .filter((file) => /\.(ts|js)$/.test(file) && !file.endsWith('.d.ts'))
    .map((file) => {
      const loaded = (require(path.join(dir, file)) as { scenario?: Scenario }).scenario;
      if (!loaded || typeof loaded.run !== 'function') throw new Error(`${path.join(dir, file)} does not export a \`scenario\``);
      return loaded;
    });
  const names = new Set<string>();
  for (const { name } of scenarios) {
    if (names.has(name)) throw new Error(`two scenarios are named ${name}`);
    names.add(name);
  }
  return scenarios.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
}

/** The scenarios named (all but the only-when-named ones when none is), in run order; an unknown name is an error that lists the known ones. */
export function selectScenarios(all: Scenario[], names: string[]): Scenario[] {
  if (names.length === 0) return all.filter((scenario) => !scenario.onlyWhenNamed);
  const unknown = names.filter((name) => !all.some((scenario) => scenario.name === name));
  if (unknown.length > 0) throw new UsageError(`unknown scenario ${unknown.join(', ')} (scenarios: ${all.map((s) => s.name).join(', ')})`);
  return all.filter((scenario) => names.includes(scenario.name));
}
