import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

const nestAndBus = ['@nestjs/*', '@nats-io/*', 'prom-client', 'nats'];

/**
 * Library boundaries. Each project declares one `type:*` and one `scope:*` tag in its package.json;
 * a dependency must satisfy both its type rule and its scope rule.
 */
export const moduleBoundaries = {
  enforceBuildableLibDependency: false,
  // bannedExternalImports also holds for what an imported lib imports, however deep: the CLI's ban on Nest covers
  // the messaging lib and everything below it
  checkNestedExternalImports: true,
  // the CLI loads the messaging lib (`@tillbus/messaging/request`, the provisioning declarations) only when it first
  // talks to NATS, and names its types statically: both are deliberate, so mixing them is not an error
  checkDynamicDependenciesExceptions: ['@tillbus/messaging'],
  allow: [],
  depConstraints: [
    // apps never import apps: no type rule lists type:app
    {
      sourceTag: 'type:app',
      onlyDependOnLibsWithTags: [
        'type:runtime',
        'type:platform',
        'type:contract',
        'type:protocol',
        'type:codes',
        'type:validation',
        'type:testing',
      ],
    },
    // The Nest bootstrap, modules and transport of a service (libs/runtime): the one lib that imports Nest.
    {
      sourceTag: 'type:runtime',
      onlyDependOnLibsWithTags: ['type:platform', 'type:codes', 'type:validation', 'type:contract'],
    },
    {
      sourceTag: 'type:platform',
      onlyDependOnLibsWithTags: ['type:platform', 'type:codes', 'type:validation', 'type:contract'],
    },
    // The bus contract (libs/contracts): subjects, DTOs, views, events, error codes. Light clients load it.
    {
      sourceTag: 'type:contract',
      onlyDependOnLibsWithTags: ['type:codes', 'type:validation'],
      bannedExternalImports: nestAndBus,
    },
    {
      sourceTag: 'type:protocol',
      onlyDependOnLibsWithTags: ['type:codes', 'type:validation'],
      bannedExternalImports: nestAndBus,
    },
    // An empty list would mean "anything"; a tag no project carries means "nothing".
    {
      sourceTag: 'type:codes',
      onlyDependOnLibsWithTags: ['type:none'],
      bannedExternalImports: ['*'],
    },
    {
      sourceTag: 'type:validation',
      onlyDependOnLibsWithTags: ['type:none'],
      bannedExternalImports: nestAndBus,
    },
    {
      sourceTag: 'type:testing',
      onlyDependOnLibsWithTags: ['type:platform', 'type:protocol', 'type:codes', 'type:validation'],
    },
    { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
    { sourceTag: 'scope:antom', onlyDependOnLibsWithTags: ['scope:shared'] },
    { sourceTag: 'scope:adyen', onlyDependOnLibsWithTags: ['scope:shared'] },
    { sourceTag: 'scope:kicc', onlyDependOnLibsWithTags: ['scope:shared'] },
    { sourceTag: 'scope:intella', onlyDependOnLibsWithTags: ['scope:shared'] },
    {
      sourceTag: 'scope:device-health',
      onlyDependOnLibsWithTags: ['scope:shared', 'scope:antom', 'scope:adyen'],
    },
    {
      sourceTag: 'scope:order-reconciliation',
      onlyDependOnLibsWithTags: ['scope:shared', 'scope:antom'],
    },
    { sourceTag: 'scope:edc-command', onlyDependOnLibsWithTags: ['scope:shared', 'scope:kicc'] },
    {
      sourceTag: 'scope:easycard-session',
      onlyDependOnLibsWithTags: ['scope:shared', 'scope:intella'],
    },
    {
      sourceTag: 'scope:simulators',
      onlyDependOnLibsWithTags: [
        'scope:shared',
        'scope:antom',
        'scope:adyen',
        'scope:kicc',
        'scope:intella',
      ],
    },
    // `tillbus bridge certify` judges a KICC bridge with the protocol's reference codec (loaded only when it runs);
    // the D-Store order printer is tested on D-Store's documented samples. What the CLI loads for every other
    // command is pinned by apps/cli/test/module-graph.test.ts.
    // The CLI talks to the bus through the contracts and the NATS client only: no Nest, not even through a lib it
    // imports (checkNestedExternalImports), and not the runtime lib.
    {
      sourceTag: 'scope:cli',
      onlyDependOnLibsWithTags: ['scope:shared', 'scope:kicc', 'scope:antom'],
      notDependOnLibsWithTags: ['type:runtime'],
      bannedExternalImports: ['@nestjs/*'],
    },
    {
      sourceTag: 'scope:e2e',
      onlyDependOnLibsWithTags: [
        'scope:shared',
        'scope:antom',
        'scope:adyen',
        'scope:kicc',
        'scope:intella',
      ],
    },
  ],
};

/**
 * Tests may use test tooling: vitest and fast-check even in the pure libs, and the real-NATS harness in every
 * lib. The rest of the workspace rules still hold.
 */
const testBoundaries = {
  ...moduleBoundaries,
  depConstraints: moduleBoundaries.depConstraints.map((constraint) => {
    if (constraint.sourceTag === 'type:codes' || constraint.sourceTag === 'type:validation') {
      return { ...constraint, bannedExternalImports: nestAndBus };
    }
    if (constraint.sourceTag === 'type:platform' || constraint.sourceTag === 'type:runtime') {
      return {
        ...constraint,
        onlyDependOnLibsWithTags: [...constraint.onlyDependOnLibsWithTags, 'type:testing'],
      };
    }
    return constraint;
  }),
};

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'tmp/**',
      '.nx/**',
      '.tillbus/**',
      'coverage/**',
      '**/__lint-fixtures__/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mts', '**/*.js', '**/*.mjs'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': ['error', moduleBoundaries],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'off',
      'no-console': 'error',
    },
  },
  {
    files: ['**/*.spec.ts', '**/test/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', testBoundaries] },
  },
  {
    files: [
      '**/*.spec.ts',
      '**/test/**/*.ts',
      'bench/**',
      'tools/**',
      '.ci/**',
      'apps/cli/**',
      'apps/simulators/src/cli/**',
    ],
    rules: { 'no-console': 'off' },
  },
  prettier,
);
