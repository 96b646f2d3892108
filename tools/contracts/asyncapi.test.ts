import { Parser } from '@asyncapi/parser';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUBJECTS } from '@tillbus/contracts';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../..');
const DOCUMENT = readFileSync(join(ROOT, 'docs/asyncapi.yaml'), 'utf8');

function sourceFiles(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(path).isDirectory()) out = out.concat(sourceFiles(path));
    else if (path.endsWith('.ts') && !path.endsWith('.spec.ts')) out.push(path);
  }
  return out;
}

/** Subjects with a @MessagePattern handler in an app, resolved through the SUBJECTS module. */
function handledSubjects(apps = join(ROOT, 'apps')): string[] {
  let files: string[] = [];
  try {
    files = readdirSync(apps).flatMap((app) => {
      const src = join(apps, app, 'src');
      try {
        return sourceFiles(src);
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
  const subjects: string[] = [];
  for (const file of files) {
    for (const match of readFileSync(file, 'utf8').matchAll(
      /@MessagePattern\(\s*SUBJECTS\.(\w+)\.(\w+)\s*\)/g,
    )) {
      const group = SUBJECTS[match[1] as keyof typeof SUBJECTS] as
        Record<string, string> | undefined;
      const subject = group?.[match[2]];
      if (!subject) throw new Error(`${file}: SUBJECTS.${match[1]}.${match[2]} does not exist`);
      subjects.push(subject);
    }
    if (/@MessagePattern\(\s*['"`]/.test(readFileSync(file, 'utf8'))) {
      throw new Error(
        `${file}: use a name from the SUBJECTS module, not a string literal, in @MessagePattern`,
      );
    }
  }
  return subjects;
}

describe('the handler scan behind the contract check', () => {
  const withApp = (source: string, check: (apps: string) => void) => {
    const apps = mkdtempSync(join(tmpdir(), 'tillbus-apps-'));
    try {
      mkdirSync(join(apps, 'demo', 'src'), { recursive: true });
      writeFileSync(join(apps, 'demo', 'src', 'demo.controller.ts'), source);
      check(apps);
    } finally {
      rmSync(apps, { recursive: true, force: true });
    }
  };

  it('finds handlers by their SUBJECTS name', () => {
    withApp(
      '@MessagePattern(SUBJECTS.edc.submit)\nsubmit() {}\n@MessagePattern( SUBJECTS.deviceHealth.readiness )\nr() {}\n',
      (apps) =>
        expect(handledSubjects(apps)).toEqual([
          'tillbus.edc.command.submit',
          'tillbus.device-health.readiness',
        ]),
    );
  });

  it('refuses a subject name that does not exist and a string literal', () => {
    withApp('@MessagePattern(SUBJECTS.edc.nope)\n', (apps) =>
      expect(() => handledSubjects(apps)).toThrow(/does not exist/),
    );
    withApp("@MessagePattern('tillbus.edc.command.submit')\n", (apps) =>
      expect(() => handledSubjects(apps)).toThrow(/not a string literal/),
    );
  });
});

describe('docs/asyncapi.yaml', () => {
  it('is a valid AsyncAPI 3 document', async () => {
    const { document, diagnostics } = await new Parser().parse(DOCUMENT);
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors.map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
  });

  it('every channel is under tillbus.', async () => {
    const { document } = await new Parser().parse(DOCUMENT);
    const addresses = document!
      .allChannels()
      .all()
      .map((c) => c.address() ?? '');
    expect(addresses.length).toBeGreaterThan(0);
    for (const address of addresses) expect(address).toMatch(/^tillbus\./);
  });

  it('documents every handler, and every documented request subject has a handler', async () => {
    const { document } = await new Parser().parse(DOCUMENT);
    const documented = document!
      .allOperations()
      .all()
      .filter((op) => op.action() === 'receive' && op.reply() !== undefined)
      .flatMap((op) =>
        op
          .channels()
          .all()
          .map((c) => c.address() ?? ''),
      );
    // A handler takes a parameterised subject with a wildcard: tillbus.x.{deviceId} is handled as tillbus.x.*.
    const asHandled = documented.map((address) => address.replace(/\{\w+\}/g, '*'));
    expect([...new Set(asHandled)].sort()).toEqual([...new Set(handledSubjects())].sort());
  });
});
