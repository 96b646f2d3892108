import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The service folder template of docs/architecture.md ("Service folder template"). */
const ROOT = join(__dirname, '../..');
const SERVICE_APPS = ['device-health', 'easycard-session', 'order-reconciliation', 'edc-command'];
const REQUIRED_ROOT_FILES = ['main.ts', 'app.module.ts', 'config.ts', 'metrics.ts'];
const OPTIONAL_ROOT_FILES = ['config.spec.ts', 'metrics.spec.ts'];
const BUS_HANDLER = /@(MessagePattern|EventPattern)\(/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .map((path) => join(dir, path));
}

describe.each(SERVICE_APPS)('apps/%s follows the service folder template', (app) => {
  const src = join(ROOT, 'apps', app, 'src');
  const rootEntries = () => readdirSync(src).sort();
  const isFile = (name: string) => statSync(join(src, name)).isFile();

  it(`${app}: the root of src/ holds only main, app.module, config and metrics`, () => {
    const files = rootEntries().filter(isFile);
    for (const required of REQUIRED_ROOT_FILES) expect(files).toContain(required);
    const strays = files.filter(
      (name) => !REQUIRED_ROOT_FILES.includes(name) && !OPTIONAL_ROOT_FILES.includes(name),
    );
    expect(strays, 'move these into bus/, vendor/ or a concept folder').toEqual([]);
  });

  it(`${app}: has bus/, vendor/ and test/`, () => {
    const folders = rootEntries().filter((name) => !isFile(name));
    expect(folders).toContain('bus');
    expect(folders).toContain('vendor');
    expect(existsSync(join(ROOT, 'apps', app, 'test'))).toBe(true);
  });

  it(`${app}: every bus handler (@MessagePattern, @EventPattern) is in a file under bus/`, () => {
    const handlers = sourceFiles(src).filter((path) =>
      BUS_HANDLER.test(readFileSync(path, 'utf8')),
    );
    expect(handlers.length).toBeGreaterThan(0);
    const outside = handlers
      .map((path) => relative(src, path))
      .filter((path) => !path.startsWith('bus/'));
    expect(outside).toEqual([]);
  });
});
