import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from './clock';
import { createClock } from './scaled-clock';

const dir = mkdtempSync(join(tmpdir(), 'scaled-clock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createClock', () => {
  it('uses the system clock unless told otherwise', () => {
    expect(createClock({ rate: 1 })).toBe(systemClock);
  });

  it('an accelerated clock runs from its epoch, so replicas agree', () => {
    const epochMs = Date.now() - 1000;
    const a = createClock({ rate: 3600, epochMs }).now();
    const b = createClock({ rate: 3600, epochMs }).now();
    expect(a - epochMs).toBeGreaterThanOrEqual(3_600_000);
    expect(Math.abs(a - b)).toBeLessThan(3600 * 50);
    expect(() => createClock({ rate: 2 })).toThrow(/epoch/);
  });

  it('adds the offset file, re-read when it changes', async () => {
    const file = join(dir, 'offset');
    writeFileSync(file, String(30 * 3_600_000));
    const clock = createClock({ rate: 1, offsetFile: file });
    expect(clock.now() - Date.now()).toBeGreaterThan(29 * 3_600_000);
    writeFileSync(file, '0');
    await new Promise((r) => setTimeout(r, 30));
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1000);
    rmSync(file);
    await new Promise((r) => setTimeout(r, 30));
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1000);
  });

  it('fires timers by its own time, so an accelerated clock fires early in wall time', async () => {
    const clock = createClock({ rate: 1000, epochMs: Date.now() });
    const started = Date.now();
    await new Promise<void>((resolve) => clock.schedule(clock.now() + 20_000, resolve));
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
