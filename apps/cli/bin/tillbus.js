#!/usr/bin/env node
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS bin script, run by node as it is */
// Runs the built CLI (`npm run build`, or `npm start`, builds it). Without a build it runs the TypeScript
// sources through SWC: slower to start, but it works in a fresh clone.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..', '..', '..');
const built = [
  join(__dirname, '..', 'dist', 'main.js'),
  join(root, 'libs', 'messaging', 'dist', 'contract.js'),
  join(root, 'libs', 'messaging', 'dist', 'request.js'),
  join(root, 'libs', 'result-codes', 'dist', 'index.js'),
];

if (!process.env.TILLBUS_CLI_FROM_SOURCE && built.every((file) => existsSync(file))) {
  require('../dist/main.js');
} else {
  const { spawnSync } = require('node:child_process');
  const run = spawnSync(
    process.execPath,
    [
      '--conditions=tillbus-source',
      '-r',
      require.resolve('@swc-node/register'),
      join(__dirname, '..', 'src', 'main.ts'),
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit', env: { ...process.env, TS_NODE_PROJECT: join(root, 'tsconfig.json') } },
  );
  process.exitCode = run.status ?? 1;
}
