#!/usr/bin/env node
/**
 * Copies deploy/nats/auth.conf into deploy/nats/values.yaml (configMap.merge.data["auth.conf"]), the way the NATS
 * Helm chart receives it. Run after editing auth.conf; tools/deploy/nats-permissions.test.ts fails until you do.
 *
 *   node tools/deploy/embed-auth-conf.mjs
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const AUTH = join(ROOT, 'deploy/nats/auth.conf');
const VALUES = join(ROOT, 'deploy/nats/values.yaml');

const auth = readFileSync(AUTH, 'utf8');
const values = readFileSync(VALUES, 'utf8');
const marker = /^( +)auth\.conf: \|\n/m;
const found = marker.exec(values);
if (!found) throw new Error(`${VALUES} has no "auth.conf: |" block`);
const indent = `${found[1]}  `;
const start = found.index + found[0].length;
// The block ends at the first non-empty line indented less than its content.
const rest = values.slice(start).split('\n');
let end = 0;
while (end < rest.length && (rest[end] === '' || rest[end].startsWith(indent))) end++;
while (end > 0 && rest[end - 1] === '') end--;
const block = auth
  .replace(/\n$/, '')
  .split('\n')
  .map((line) => (line ? indent + line : ''))
  .join('\n');
writeFileSync(VALUES, values.slice(0, start) + block + '\n' + rest.slice(end).join('\n'));
