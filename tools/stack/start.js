#!/usr/bin/env node
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- run by node as it is, before anything is built */
// `npm start`: the orchestrator is TypeScript, compiled on the fly by SWC, so it runs before the build it starts.
// `npm start` runs it with --conditions=tillbus-source, so the workspace libs it uses (the TLS certificates of
// @tillbus/testing, say) load from their sources too, not from a dist/ that does not exist yet on a fresh clone.
const { join } = require('node:path');

// A closed terminal (SIGHUP) makes every console write fail with EIO: the clean stop that follows must not die of it.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
process.env.TS_NODE_PROJECT = join(__dirname, '..', '..', 'tsconfig.json');
require('@swc-node/register');
require('./main.ts')
  .main(process.argv.slice(2))
  .then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`${error && error.message ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
