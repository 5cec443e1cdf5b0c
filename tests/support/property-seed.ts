/**
 * Property tests are reproducible from one seed. Every fast-check run in the suite starts from it:
 * fixed by default, so a run is the same every time; `FC_SEED=<integer>` replays another run,
 * `FC_SEED=random` draws a fresh one. Global setup picks it once per `npm test` and prints it
 * (and fast-check's own failure report names the seed and path of a counterexample).
 * Arbitraries must draw every random choice from fast-check (never Math.random), or the seed
 * does not reproduce them.
 */
import fc from 'fast-check';

export const DEFAULT_PROPERTY_SEED = 20_261_121;

/** The seed this run uses, from FC_SEED (see above). */
export function propertySeed(): number {
  return parsePropertySeed(process.env.FC_SEED);
}

export function parsePropertySeed(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PROPERTY_SEED;
  if (value === 'random') return Math.floor(Math.random() * 2 ** 31); // the one Math.random: choosing the seed
  const seed = Number(value);
  if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer or "random", got ${JSON.stringify(value)}`);
  return seed;
}

/** Jest setupFiles entry: configures fast-check in every test file with the run's seed. */
export function configurePropertyTests(): void {
  fc.configureGlobal({ seed: propertySeed() });
}
