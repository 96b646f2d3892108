import { describe, expect, it } from 'vitest';
import { KeyedSerializer } from './keyed-serializer';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('KeyedSerializer', () => {
  it('runs work of one key in call order, other keys at once, and forgets idle keys', async () => {
    const serial = new KeyedSerializer();
    const log: string[] = [];
    const job = (name: string, ms: number) => async () => {
      log.push(`start ${name}`);
      await tick(ms);
      log.push(`end ${name}`);
      return name;
    };
    const results = await Promise.all([
      serial.run('a', job('a1', 30)),
      serial.run('a', job('a2', 1)),
      serial.run('b', job('b1', 5)),
    ]);
    expect(results).toEqual(['a1', 'a2', 'b1']);
    expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
    expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('end a1'));
    await tick(1);
    expect(serial.size).toBe(0);
  });

  it('a failure does not block the next work of the same key', async () => {
    const serial = new KeyedSerializer();
    const failed = serial.run('a', async () => {
      throw new Error('boom');
    });
    const next = serial.run('a', async () => 'ok');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ok');
  });
});
