import fc from 'fast-check';
import { DEFAULT_PROPERTY_SEED, parsePropertySeed, propertySeed } from '../support/property-seed';

describe('property tests are reproducible from their seed', () => {
  it('every test file runs fast-check with the seed of this run', () => {
    expect(fc.readConfigureGlobal().seed).toBe(propertySeed());
    expect(process.env.FC_SEED).toBe(String(propertySeed())); // global setup chose and exported it
  });

  it('the seed is fixed unless FC_SEED says otherwise', () => {
    expect(parsePropertySeed(undefined)).toBe(DEFAULT_PROPERTY_SEED);
    expect(parsePropertySeed('')).toBe(DEFAULT_PROPERTY_SEED);
    expect(parsePropertySeed('42')).toBe(42);
    expect(Number.isSafeInteger(parsePropertySeed('random'))).toBe(true);
    expect(() => parsePropertySeed('abc')).toThrow(/FC_SEED/);
  });
});
