import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `npm run lint` as CI runs it on a clean clone: the tracked files only, no Nx cache (.nx), no daemon. The
// boundary rule reads the project graph from that cache; without the graph step in tools/lint/lint.mjs it skips
// silently and every probe below would pass lint.
const ROOT = join(__dirname, '..', '..');

/** One forbidden import per rule: the file it is put in, its code, and the error lint must report. */
const PROBES = [
  {
    rule: 'an app may not import another app',
    file: 'apps/edc-command/src/probe-app.ts',
    code: "import * as other from '@tillbus/device-health';\nexport const x = other;\n",
    error: /can only depend on libs tagged with|Imports of apps are forbidden/,
  },
  {
    rule: "a service may not import another vendor's protocol lib",
    file: 'apps/easycard-session/src/probe-vendor.ts',
    code: "import * as adyen from '@tillbus/protocols-adyen';\nexport const x = adyen;\n",
    error: /can only depend on libs tagged with/,
  },
  {
    rule: 'a protocol lib may not import Nest',
    file: 'libs/protocols/intella/src/probe-nest.ts',
    code: "import { Module } from '@nestjs/common';\nexport const x = Module;\n",
    error: /is not allowed to import "@nestjs\/common"/,
  },
  {
    rule: 'a protocol lib may not import NATS',
    file: 'libs/protocols/antom/src/probe-nats.ts',
    code: "import { connect } from '@nats-io/transport-node';\nexport const x = connect;\n",
    error: /is not allowed to import "@nats-io\/transport-node"/,
  },
  {
    rule: 'result-codes may not import a package',
    file: 'libs/result-codes/src/probe-package.ts',
    code: "import { IsString } from 'class-validator';\nexport const x = IsString;\n",
    error: /is not allowed to import "class-validator"/,
  },
  {
    rule: 'result-codes may not import a workspace lib',
    file: 'libs/result-codes/src/probe-lib.ts',
    code: "import { validatePlain } from '@tillbus/validation';\nexport const x = validatePlain;\n",
    error: /can only depend on libs tagged with/,
  },
] as const;

interface LintMessage {
  ruleId: string | null;
  message: string;
}
interface LintResult {
  filePath: string;
  messages: LintMessage[];
}

let clone: string;
let results: LintResult[];
let exitCode: number | null;

beforeAll(() => {
  clone = mkdtempSync(join(tmpdir(), 'tillbus-clean-lint-'));
  const tracked = spawnSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '-z'],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  expect(tracked.status).toBe(0);
  for (const file of tracked.stdout.split('\0').filter(Boolean)) {
    mkdirSync(dirname(join(clone, file)), { recursive: true });
    cpSync(join(ROOT, file), join(clone, file), { dereference: false });
  }
  linkDependencies(clone);
  for (const probe of PROBES) writeFileSync(join(clone, probe.file), probe.code);

  const env: NodeJS.ProcessEnv = { ...process.env, NX_DAEMON: 'false', CI: 'true' };
  delete env.NX_WORKSPACE_DATA_DIRECTORY;
  const lint = spawnSync(
    process.execPath,
    ['tools/lint/lint.mjs', '--format', 'json', '--output-file', 'lint.json', '.'],
    { cwd: clone, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  exitCode = lint.status;
  results = JSON.parse(
    spawnSync('cat', ['lint.json'], { cwd: clone, encoding: 'utf8' }).stdout || '[]',
  ) as LintResult[];
}, 240_000);

/**
 * The installed dependencies as `npm ci` leaves them, without installing again: every package links to this
 * checkout's install, except the workspace's own (@tillbus/*), which link into the copy as npm's workspace links do.
 */
function linkDependencies(into: string): void {
  const modules = join(into, 'node_modules');
  mkdirSync(join(modules, '@tillbus'), { recursive: true });
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name === '@tillbus' || name === '.cache') continue;
    symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
  }
  for (const name of readdirSync(join(ROOT, 'node_modules', '@tillbus'))) {
    const target = readlinkSync(join(ROOT, 'node_modules', '@tillbus', name));
    symlinkSync(target, join(modules, '@tillbus', name));
  }
}

afterAll(() => {
  if (clone) rmSync(clone, { recursive: true, force: true });
});

describe('lint on a clean clone (no Nx cache, no daemon)', () => {
  it('fails', () => {
    expect(exitCode).toBe(1);
  });

  it.each(PROBES)('enforces: $rule', (probe) => {
    const result = results.find((r) => r.filePath === join(clone, probe.file));
    const boundary = (result?.messages ?? [])
      .filter((m) => m.ruleId === '@nx/enforce-module-boundaries')
      .map((m) => m.message);
    expect(boundary.join('\n'), `${probe.file}: no boundary error`).toMatch(probe.error);
  });

  it('finds nothing wrong in the real tree', () => {
    const probeFiles = new Set<string>(PROBES.map((p) => join(clone, p.file)));
    const elsewhere = results
      .filter((r) => !probeFiles.has(r.filePath) && r.messages.length > 0)
      .map((r) => `${r.filePath}: ${r.messages.map((m) => m.message).join('; ')}`);
    expect(elsewhere).toEqual([]);
    expect(results.length).toBeGreaterThan(100);
  });
});
