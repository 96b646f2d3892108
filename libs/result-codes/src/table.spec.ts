import { describe, expect, it } from 'vitest';
import { isTableKey } from './table';

const TABLE = { SUCCESS: 1, FAILED: 2 } as const;

describe('isTableKey', () => {
  it.each(['SUCCESS', 'FAILED'])('accepts the own key %s', (key) =>
    expect(isTableKey(TABLE, key)).toBe(true),
  );
  it.each([
    'toString',
    '__proto__',
    'constructor',
    'hasOwnProperty',
    'success',
    '',
    1,
    null,
    undefined,
    {},
  ])('refuses %j (inherited, wrong case or not a string)', (value) =>
    expect(isTableKey(TABLE, value)).toBe(false),
  );
});
