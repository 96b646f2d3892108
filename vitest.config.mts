import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// Nest's DI needs decorator metadata, which esbuild/oxc drop; SWC keeps it.
const sourceCondition = 'tillbus-source';

export default defineConfig({
  plugins: [
    swc.vite({
      tsconfigFile: false,
      swcrc: false,
      jsc: {
        target: 'es2022',
        parser: { syntax: 'typescript', decorators: true },
        transform: {
          legacyDecorator: true,
          decoratorMetadata: true,
          useDefineForClassFields: false,
        },
        keepClassNames: true,
      },
    }),
  ],
  // Only add our condition: Vitest hands these to Node too, and 'import' there would make require() load ESM builds.
  resolve: { conditions: [sourceCondition, 'node', 'development|production'] },
  ssr: { resolve: { conditions: [sourceCondition, 'node', 'development|production'] } },
  test: {
    // Services in tests declare their own part of libs/messaging's declarations (production only verifies them:
    // tillbus provision creates them); processes the tests spawn inherit this.
    env: { TZ: 'UTC', NATS_PROVISIONING: 'apply' },
    globals: false,
    setupFiles: ['tools/vitest.setup.ts'],
    globalSetup: ['tools/vitest.global-setup.ts'],
    passWithNoTests: false,
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: 'tmp/test-results.json' }]]
      : ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'libs/**/src/**/*.spec.ts',
            'apps/*/src/**/*.spec.ts',
            'bench/**/*.spec.ts',
            'tools/**/*.spec.ts',
          ],
          testTimeout: 10_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['libs/**/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'tools/**/*.test.ts'],
          exclude: ['apps/e2e/**'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['apps/e2e/test/**/*.test.ts'],
          exclude: ['apps/e2e/test/cluster/**'],
          // The stack is one set of processes shared by the suite's files, which therefore run one at a time.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          // Three-node JetStream cluster, the whole stack at STREAM_REPLICAS=3, nodes killed under card load.
          name: 'cluster',
          include: ['apps/e2e/test/cluster/**/*.test.ts'],
          // After every other project, alone: it kills nodes and measures seconds, and needs the CPU to itself.
          sequence: { groupOrder: 1 },
          fileParallelism: false,
          testTimeout: 240_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
