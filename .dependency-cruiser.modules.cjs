/**
 * No cycle between module folders (`npm run deps`, second pass): modules depend on each other in one
 * direction, e.g. subscriptions on orders and credits, never back. Checked on the graph of modules/<name>/
 * alone (type-only imports included), because dependency-cruiser's folder scope cannot exclude the
 * type-only paths through workflows/ and activities/ that every module's contract legitimately has.
 * Every rule of .dependency-cruiser.cjs applies here too.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  extends: './.dependency-cruiser.cjs',
  forbidden: [
    {
      name: 'no-circular-between-modules',
      comment: 'Module folders form no cycle: a module that needs something from one that depends on it takes a function as a parameter or reacts to an event.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^modules/[^/]+' },
      to: { circular: true },
    },
  ],
  options: {
    includeOnly: '^modules/[^/]+/',
  },
};
