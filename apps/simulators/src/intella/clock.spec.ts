import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSimClock } from './clock';

const dir = mkdtempSync(join(tmpdir(), 'intella-clock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('simulator clock', () => {
  it('is the real clock by default', () => {
    const before = Date.now();
    const now = createSimClock()();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('runs faster from its epoch', () => {
    const epochMs = Date.now() - 1000;
    const now = createSimClock({ rate: 3600, epochMs })();
    expect(now - epochMs).toBeGreaterThanOrEqual(3600 * 1000);
  });

  it('adds the offset file, re-read when it changes, 0 when missing', () => {
    const file = join(dir, 'offset');
    const clock = createSimClock({ offsetFile: file });
    expect(Math.abs(clock() - Date.now())).toBeLessThan(1000);
    writeFileSync(file, String(30 * 3_600_000));
    expect(clock() - Date.now()).toBeGreaterThan(29 * 3_600_000);
    rmSync(file);
    expect(Math.abs(clock() - Date.now())).toBeLessThan(1000);
  });

  it('refuses a rate without an epoch, and a rate of 0', () => {
    expect(() => createSimClock({ rate: 10 })).toThrow(/epoch/);
    expect(() => createSimClock({ rate: 0 })).toThrow(/above 0/);
  });
});
