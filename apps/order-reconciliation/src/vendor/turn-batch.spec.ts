import { describe, expect, it } from 'vitest';
import { TurnBatch } from './turn-batch';

describe('TurnBatch', () => {
  it('runs everything queued in one turn in one synchronous pass, in order, before any microtask', async () => {
    const batch = new TurnBatch();
    const log: string[] = [];
    const results = Promise.all(
      ['a', 'b', 'c'].map((name) =>
        batch.run(() => {
          log.push(name);
          void Promise.resolve().then(() => log.push(`micro after ${name}`));
          return name.toUpperCase();
        }),
      ),
    );
    expect(log).toEqual([]);
    expect(await results).toEqual(['A', 'B', 'C']);
    expect(log.slice(0, 3)).toEqual(['a', 'b', 'c']);
  });

  it('rejects only the work that threw, and starts a new batch afterwards', async () => {
    const batch = new TurnBatch();
    const failed = batch.run(() => {
      throw new Error('boom');
    });
    const fine = batch.run(() => 1);
    await expect(failed).rejects.toThrow('boom');
    await expect(fine).resolves.toBe(1);
    await expect(batch.run(() => 2)).resolves.toBe(2);
  });
});
