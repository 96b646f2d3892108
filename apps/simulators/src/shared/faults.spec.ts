import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  booleanFault,
  FaultError,
  faultFields,
  integerFault,
  oneOfFault,
  readFaultFile,
} from './faults';

const dir = mkdtempSync(join(tmpdir(), 'tillbus-sim-faults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('faultFields', () => {
  it('gives each field with its name for messages', () => {
    expect(faultFields({ slowMs: 5, noPaper: true }, 'faults.T1')).toEqual([
      ['slowMs', 5, 'faults.T1.slowMs'],
      ['noPaper', true, 'faults.T1.noPaper'],
    ]);
  });

  it.each([null, 1, 'x', [], true])('refuses %j: not a JSON object', (input) => {
    expect(() => faultFields(input, 'faults')).toThrow(
      new FaultError('faults must be a JSON object'),
    );
  });
});

describe('field checks', () => {
  it('booleanFault takes true or false only', () => {
    expect(booleanFault('f.a', false)).toBe(false);
    expect(() => booleanFault('f.a', 'yes')).toThrow(/^f.a must be true or false$/);
  });

  it('oneOfFault takes one of the names and lists them otherwise', () => {
    expect(oneOfFault('f.m', 'empty', ['garbage', 'empty'])).toBe('empty');
    expect(() => oneOfFault('f.m', 'EMPTY', ['garbage', 'empty'])).toThrow(
      /^f.m must be one of garbage, empty$/,
    );
  });

  it.each([
    [0, true],
    [100, true],
    [101, false],
    [-1, false],
    [1.5, false],
    ['5', false],
  ])('integerFault(%j) from 0 to 100: %s', (value, ok) => {
    if (ok) expect(integerFault('f.n', value, 100)).toBe(value);
    else
      expect(() => integerFault('f.n', value, 100)).toThrow(
        /^f.n must be an integer from 0 to 100$/,
      );
  });

  it('never throw anything but a FaultError', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        for (const check of [
          () => booleanFault('f', value),
          () => oneOfFault('f', value, ['a']),
          () => integerFault('f', value, 10),
          () => faultFields(value, 'f'),
        ]) {
          try {
            check();
          } catch (error) {
            expect(error).toBeInstanceOf(FaultError);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('readFaultFile', () => {
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const parse = (input: unknown, where: string) => {
    const [[key, value, field]] = faultFields(input, where);
    return { [key]: booleanFault(field, value) };
  };

  it('parses each terminal with its id as the place in messages', () => {
    const path = write('ok.json', JSON.stringify({ T1: { noPaper: true }, T2: { busy: false } }));
    expect(readFaultFile(path, 'serial number', parse)).toEqual({
      T1: { noPaper: true },
      T2: { busy: false },
    });
    const bad = write('bad-field.json', JSON.stringify({ T1: { noPaper: 'yes' } }));
    expect(() => readFaultFile(bad, 'serial number', parse)).toThrow(
      /^T1.noPaper must be true or false$/,
    );
  });

  it.each([
    ['not JSON', 'nope', /^--faults .*not-json\.json: Unexpected token/],
    ['an array', '[]', /must be a JSON object keyed by serial number$/],
    ['null', 'null', /must be a JSON object keyed by serial number$/],
  ])('refuses a file that is %s, naming it', (_what, text, message) => {
    const path = write(_what === 'not JSON' ? 'not-json.json' : 'other.json', text);
    expect(() => readFaultFile(path, 'serial number', parse)).toThrow(message);
    expect(() => readFaultFile(path, 'serial number', parse)).toThrow(FaultError);
  });

  it('refuses a missing file, naming it', () => {
    const path = join(dir, 'missing.json');
    expect(() => readFaultFile(path, 'POIID', parse)).toThrow(`--faults ${path}: ENOENT`);
  });
});
