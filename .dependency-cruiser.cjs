/**
 * The module boundaries of docs/architecture.md ("Module map"), checked by dependency-cruiser in `npm test`
 * (`npm run deps`). Each rule is one sentence of that section; a violation names the rule and the import.
 *
 *   platform/          the frame every module uses; imports no module
 *   modules/<name>/    one capability; others import it through index.ts (its public face), or, for pure
 *                      rules and the types workflows store, through rules/ and shapes.ts (its workflow-safe face)
 *   modules/config.ts  the one place where platform settings and every module's config fragment are composed
 *   workflows/         deterministic code: rules, shapes, contracts, workflow-safe platform pieces, types
 *   api/ activities/ worker/ prisma/   entry points and composition; they use modules through index.ts
 *   scripts/ tests/    dev-only; may reach inside modules, and nothing in production imports them
 *
 * The cycle check between module folders runs on the modules' own graph: .dependency-cruiser.modules.cjs.
 *
 * Exceptions are listed in KNOWN_EXCEPTIONS below, each with the reason it is not fixed yet.
 */

/** Pieces of platform/ that are pure and deterministic, so workflow code and rules may import them. */
const WORKFLOW_SAFE_PLATFORM = ['^platform/errors\\.ts$', '^platform/currencies\\.ts$', '^platform/idempotency/key-reuse\\.ts$'];

/** A module's faces: what another module or an entry point may import from it. */
const FACE = '^modules/[^/]+/(index\\.ts|shapes\\.ts|rules/.+)$';
/** A module's workflow-safe face: pure rules and type-only shapes. */
const WORKFLOW_SAFE_FACE = '^modules/[^/]+/(shapes\\.ts|rules/.+)$';

const PRODUCTION = '^(api|activities|modules|platform|prisma|worker|workflows)/';
/** Everything but the SDK and its examples: what they must not import. */
const SERVER_AND_DEV_CODE = '^(api|activities|modules|platform|prisma|worker|workflows|scripts|tests|console|generated)/';

/**
 * Known violations the restructure could not remove mechanically, by rule name: files (regular
 * expressions) the rule does not apply to yet, each with its reason. Remove a line when its code is fixed.
 * What no import rule can see is listed in docs/architecture.md
 * ("Known gaps"): modules that still write another module's tables through Prisma (subscriptions moves
 * orders and writes credit grants' ledger rows through credits' applyMovements; orders read subscription
 * periods and grants to plan a refund's revocation).
 */
const KNOWN_EXCEPTIONS = {
  'api-holds-no-sql': [
    {
      from: '^api/errors\\.ts$',
      reason:
        'maps a unique violation to 409 with isUniqueViolation from platform/database.ts (no query; tests/unit/api-holds-no-sql.test.ts still reads the file); move that check beside the other failure classifications in platform/dependency-errors.ts',
    },
  ],
};

/** Adds a rule's known exceptions to its `from.pathNot`. */
function withExceptions(rule) {
  const exceptions = KNOWN_EXCEPTIONS[rule.name] ?? [];
  if (exceptions.length === 0) return rule;
  return { ...rule, from: { ...rule.from, pathNot: [].concat(rule.from.pathNot ?? [], exceptions.map((exception) => exception.from)) } };
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'platform-imports-no-module',
      comment: 'platform/ is the frame every module uses: it imports no module, entry point, workflow or dev code.',
      severity: 'error',
      from: { path: '^platform/' },
      to: { path: '^(modules|api|activities|worker|workflows|prisma|scripts|tests)/' },
    },
    {
      name: 'module-through-its-face',
      comment: "A module imports another only through its index.ts (or its rules/ and shapes.ts): the rest of a module's folder is private.",
      severity: 'error',
      from: { path: '^modules/([^/]+)/' },
      to: { path: '^modules/[^/]+/', pathNot: ['^modules/$1/', FACE] },
    },
    {
      name: 'entry-points-through-faces',
      comment: 'api/, activities/, worker/, prisma/ and modules/config.ts use a module through its index.ts (or rules/, shapes.ts).',
      severity: 'error',
      from: { path: '^(api|activities|worker|prisma)/|^modules/config\\.ts$' },
      to: { path: '^modules/[^/]+/', pathNot: FACE },
    },
    {
      name: 'workflows-import-workflow-safe-faces',
      comment: 'Workflow code imports rules and contracts only: never a module service or view, only modules/*/rules/ and modules/*/shapes.ts.',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { path: '^modules/', pathNot: WORKFLOW_SAFE_FACE },
    },
    {
      name: 'workflows-import-workflow-safe-platform',
      comment: 'Workflow code imports only the pure pieces of platform/ (errors, currencies, the key-reuse rule).',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { path: '^platform/', pathNot: WORKFLOW_SAFE_PLATFORM },
    },
    {
      name: 'workflows-use-activities-as-types',
      comment: 'Workflow code knows activities by their types only (proxyActivities<typeof …>); their code runs in the worker.',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { path: '^(activities|worker|api|generated/prisma/(?!enums))', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'shapes-are-type-only',
      comment: 'modules/*/shapes.ts only re-exports types, so the workflow bundle loads nothing through it.',
      severity: 'error',
      from: { path: '^modules/[^/]+/shapes\\.ts$' },
      to: { dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'rules-are-pure',
      comment: 'modules/*/rules/ are pure and workflow-safe: they import other rules, the pure platform pieces and Prisma enums only.',
      severity: 'error',
      from: { path: '^modules/[^/]+/rules/' },
      to: {
        pathNot: ['^modules/[^/]+/rules/', ...WORKFLOW_SAFE_PLATFORM, '^generated/prisma/enums\\.ts$'],
        dependencyTypesNot: ['type-only', 'core'],
      },
    },
    {
      name: 'api-holds-no-sql',
      comment:
        'api/ handlers call module services; only the composition root (api/main.ts) opens the database. tests/unit/api-holds-no-sql.test.ts checks api/ for queries too.',
      severity: 'error',
      from: { path: '^api/', pathNot: '^api/main\\.ts$' },
      to: { path: '^(platform/database\\.ts|generated/prisma/client\\.ts)$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'production-imports-no-dev-code',
      comment: 'scripts/ and tests/ are dev-only: nothing the API or the worker runs imports them.',
      severity: 'error',
      from: { path: PRODUCTION },
      to: { path: '^(scripts|tests)/' },
    },
    {
      name: 'production-uses-no-dev-dependency',
      comment: 'A package the API or the worker loads must be in dependencies (the image prunes devDependencies).',
      severity: 'error',
      from: { path: PRODUCTION },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-circular-at-run-time',
      comment: 'No cycle of run-time imports between files (type-only imports are erased and do not count).',
      severity: 'error',
      from: { path: PRODUCTION },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'sdk-stands-alone',
      comment: "clients/typescript is a package of its own (the SDK): it imports its own files and its declared packages, never the server's code.",
      severity: 'error',
      from: { path: '^clients/' },
      to: { path: SERVER_AND_DEV_CODE },
    },
    {
      name: 'examples-use-the-sdk',
      comment: "examples/ are business services built on the SDK: they reach the API through clients/typescript, never through the server's code.",
      severity: 'error',
      from: { path: '^examples/' },
      to: { path: SERVER_AND_DEV_CODE },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves to a file or an installed package.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ].map(withExceptions),
  options: {
    doNotFollow: { path: ['node_modules', '^generated/'] },
    exclude: { path: ['^tests/workflows/histories/', '^dist/', '^\\.data/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.json', '.d.ts'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
